/**
 * The guide's "Checking authentication results" and "Accessing user details": the page shows
 * "Login with GitHub" or the user's details and "Logout", following the login/logout events.
 * `scope: ["public_repo"]` is requested on top of the provider's user scopes.
 */
import express, { type Express } from "express";
import { fletAuth, GitHubOAuthProvider, type FletAuthMiddleware, type OAuthProvider } from "flet-auth";

export function createApp(options: { provider?: OAuthProvider; secret: string }): { app: Express; auth: FletAuthMiddleware; log: string[] } {
  const github =
    options.provider ??
    new GitHubOAuthProvider({
      clientId: process.env["GITHUB_CLIENT_ID"] ?? "",
      clientSecret: process.env["GITHUB_CLIENT_SECRET"] ?? "",
      redirectUrl: "http://localhost:8550/oauth_callback",
    });
  const auth = fletAuth({ providers: { github }, secret: options.secret });
  const log: string[] = [];
  auth.on("login", (e) => {
    if (!e.error) log.push(`login ${e.provider} ${e.auth?.user?.id}`);
  });
  auth.on("logout", (e) => log.push(`logout ${e.provider}`));

  const app = express();
  app.use(auth);
  // Like `page.login(provider, scope=["public_repo"])`.
  app.get("/signin", (req, _res, next) => {
    req.login("github", { scope: ["public_repo"], returnTo: "/" }).catch(next);
  });
  app.get("/", (req, res) => {
    const user = req.auth?.user;
    res.type("html").send(
      user
        ? `<p>Name: ${esc(user["name"])}</p><p>Login: ${esc(user["login"])}</p><p>Email: ${esc(user["email"])}</p>
           <form method="post" action="/logout"><button>Logout</button></form>`
        : `<a href="/signin">Login with GitHub</a>`,
    );
  });
  return { app, auth, log };
}

function esc(value: unknown): string {
  return String(value ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
