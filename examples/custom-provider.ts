/**
 * The guide's "Configuring a custom OAuth provider" (LinkedIn), and several providers in one
 * app (the guide's `page.session["github_auth"]` … `["google_auth"]`): every authorization of
 * the session is in `req.authorizations`, the last one in `req.auth`.
 */
import express, { type Express } from "express";
import { fletAuth, GoogleOAuthProvider, OAuthProvider } from "flet-auth";

export function linkedInProvider(overrides: Partial<ConstructorParameters<typeof OAuthProvider>[0]> = {}): OAuthProvider {
  return new OAuthProvider({
    clientId: process.env["LINKEDIN_CLIENT_ID"] ?? "",
    clientSecret: process.env["LINKEDIN_CLIENT_SECRET"] ?? "",
    authorizationEndpoint: "https://www.linkedin.com/oauth/v2/authorization",
    tokenEndpoint: "https://www.linkedin.com/oauth/v2/accessToken",
    userEndpoint: "https://api.linkedin.com/v2/me",
    userScopes: ["r_liteprofile", "r_emailaddress"],
    userId: (u) => String(u["id"]),
    redirectUrl: "http://localhost:8550/oauth_callback",
    ...overrides,
  });
}

export function createApp(options: { linkedin?: OAuthProvider; google?: OAuthProvider; secret: string }): Express {
  const linkedin = options.linkedin ?? linkedInProvider();
  const google =
    options.google ??
    new GoogleOAuthProvider({
      clientId: process.env["GOOGLE_CLIENT_ID"] ?? "",
      clientSecret: process.env["GOOGLE_CLIENT_SECRET"] ?? "",
      redirectUrl: "http://localhost:8550/oauth_callback",
    });
  const auth = fletAuth({ providers: { linkedin, google }, secret: options.secret });
  auth.on("login", (e) => {
    if (e.error) console.warn("login failed:", e.error);
  });
  const app = express();
  app.use(auth);
  app.get("/", (req, res) => {
    res.json({
      current: req.auth?.provider ?? null,
      signedIn: Object.fromEntries(Object.entries(req.authorizations).map(([name, a]) => [name, a.user?.id ?? null])),
    });
  });
  return app;
}
