/**
 * The guide's "Sign in with OAuth provider": a "Login with GitHub" button, and the login event
 * printing the error, the access token's presence and the user id.
 *
 *   export GITHUB_CLIENT_ID=... GITHUB_CLIENT_SECRET=... SESSION_SECRET=$(openssl rand -base64 32)
 *   npx tsx examples/github-login.ts   # then open http://localhost:8550
 */
import express, { type Express } from "express";
import { pathToFileURL } from "node:url";
import { fletAuth, GitHubOAuthProvider, type FletAuthMiddleware, type OAuthProvider } from "flet-auth";

export function createApp(options: { provider?: OAuthProvider; secret?: string } = {}): { app: Express; auth: FletAuthMiddleware } {
  const provider =
    options.provider ??
    new GitHubOAuthProvider({
      clientId: requireEnv("GITHUB_CLIENT_ID"),
      clientSecret: requireEnv("GITHUB_CLIENT_SECRET"),
      redirectUrl: "http://localhost:8550/oauth_callback",
    });
  const auth = fletAuth({ providers: { github: provider }, secret: options.secret ?? requireEnv("SESSION_SECRET") });

  auth.on("login", (e) => {
    console.log("Login error:", e.error);
    // Never log the token itself: only whether there is one.
    console.log("Access token:", e.auth ? "(received)" : "(none)");
    console.log("User ID:", e.auth?.user?.id);
  });

  const app = express();
  app.use(auth);
  app.get("/", (req, res) => {
    res.type("html").send(
      req.auth
        ? `<p>Signed in as ${escape(String(req.auth.user?.["login"] ?? req.auth.user?.id))}</p>`
        : `<a href="/login/github">Login with GitHub</a>`,
    );
  });
  return { app, auth };
}

function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`set ${name} environment variable`);
  return value;
}

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  createApp().app.listen(8550, () => console.log("http://localhost:8550"));
}
