/**
 * The guide's "Using OAuth token": list the user's GitHub repositories with the access token.
 * Call `await req.auth.getToken()` every time you need the token — it refreshes it when it is
 * about to expire — instead of keeping a token object around.
 */
import express, { type Express } from "express";
import { fletAuth, GitHubOAuthProvider, type OAuthProvider } from "flet-auth";

export function createApp(options: { provider?: GitHubOAuthProvider | OAuthProvider; secret: string; apiUrl?: string }): Express {
  const github =
    options.provider ??
    new GitHubOAuthProvider({
      clientId: process.env["GITHUB_CLIENT_ID"] ?? "",
      clientSecret: process.env["GITHUB_CLIENT_SECRET"] ?? "",
      redirectUrl: "http://localhost:8550/oauth_callback",
    });
  const apiUrl = options.apiUrl ?? "https://api.github.com";
  const app = express();
  app.use(fletAuth({ providers: { github }, secret: options.secret }));
  app.get("/repos", async (req, res, next) => {
    try {
      if (!req.auth) return res.redirect("/login/github?returnTo=/repos");
      // Correct: ask for the token when you use it (it may have been refreshed).
      const { accessToken } = await req.auth.getToken();
      const reposResp = await fetch(`${apiUrl}/user/repos`, {
        headers: { Authorization: `Bearer ${accessToken}`, "User-Agent": "flet-auth-example" },
        signal: AbortSignal.timeout(10_000),
      });
      if (!reposResp.ok) return res.status(502).json({ error: `GitHub answered ${reposResp.status}` });
      const userRepos = (await reposResp.json()) as Array<{ full_name: string }>;
      res.json(userRepos.map((repo) => repo.full_name));
    } catch (err) {
      next(err);
    }
  });
  return app;
}
