/**
 * Built-in "Remember me": a login with `?remember=1` keeps the token in an encrypted HttpOnly
 * cookie; a browser that comes back without a session is signed in from it; logout clears it.
 */
import express, { type Express } from "express";
import { fletAuth, type FletAuthMiddleware, type OAuthProvider } from "flet-auth";

export function createApp(options: { provider: OAuthProvider; secret: string; rememberKey: string }): { app: Express; auth: FletAuthMiddleware } {
  const auth = fletAuth({
    providers: { idp: options.provider },
    secret: options.secret, // process.env.SESSION_SECRET
    rememberMe: { secretKey: options.rememberKey, maxAge: 30 * 24 * 3600 * 1000 }, // process.env.REMEMBER_ME_KEY
  });
  const app = express();
  app.use(auth);
  app.get("/", (req, res) => {
    res.type("html").send(
      req.auth
        ? `<p>Welcome back, ${String(req.auth.user?.["name"] ?? "").replace(/[&<>"']/g, "")}</p>`
        : `<a href="/login/idp?remember=1">Login (remember me)</a>`,
    );
  });
  return { app, auth };
}
