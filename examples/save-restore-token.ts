/**
 * The guide's "Saving and restoring an auth token" and "Signing out", by hand with
 * `flet-auth/security` (the built-in `rememberMe` option does this for you, see
 * remember-me.ts). The encrypted token goes to an HttpOnly cookie — Flet's client storage —
 * and the format is Flet's: a Flet Python app with the same key can decrypt it.
 */
import express, { type Express } from "express";
import { fletAuth, isFletAuthError, type FletAuthMiddleware, type OAuthProvider } from "flet-auth";
import { decrypt, encrypt } from "flet-auth/security";

const AUTH_TOKEN_KEY = "myapp.auth_token";

export function createApp(options: { provider: OAuthProvider; secret: string; secretKey: string }): { app: Express; auth: FletAuthMiddleware } {
  const secretKey = options.secretKey; // e.g. process.env.MY_APP_SECRET_KEY
  const auth = fletAuth({ providers: { idp: options.provider }, secret: options.secret });
  const app = express();
  app.use(auth);

  // After a login, save the encrypted token: jt = token.toJson(); ejt = encrypt(jt, secretKey).
  app.get("/save", async (req, res, next) => {
    try {
      if (!req.auth) return res.status(401).send("sign in first");
      const jt = (await req.auth.getToken()).toJson();
      const ejt = await encrypt(jt, secretKey);
      res.cookie(AUTH_TOKEN_KEY, ejt, { httpOnly: true, sameSite: "lax", secure: req.secure, maxAge: 30 * 86_400_000 });
      res.send("saved");
    } catch (err) {
      next(err);
    }
  });

  // Next visit: decrypt it and log in with saved_token (no redirect).
  app.get("/restore", async (req, res, next) => {
    try {
      const ejt = readCookie(req.headers.cookie, AUTH_TOKEN_KEY);
      if (!ejt) return res.status(404).send("nothing saved");
      const jt = await decrypt(ejt, secretKey);
      const restored = await req.login("idp", { savedToken: jt });
      res.json({ user: restored.user?.id });
    } catch (err) {
      // A tampered cookie or a revoked token: forget it, stay signed out.
      if (isFletAuthError(err)) {
        res.clearCookie(AUTH_TOKEN_KEY);
        return res.status(401).json({ error: err.code });
      }
      next(err);
    }
  });

  // Signing out removes the saved token too.
  app.post("/signout", async (req, res, next) => {
    try {
      res.clearCookie(AUTH_TOKEN_KEY);
      await req.logout();
      res.redirect(303, "/");
    } catch (err) {
      next(err);
    }
  });
  return { app, auth };
}

function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? "").split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) return decodeURIComponent(v.join("="));
  }
  return undefined;
}
