/**
 * The guide's "Customizing authorization flow": a custom complete page (popup flow), the
 * same-tab flow (`redirectToPage`) and opening the URL yourself (`onOpenAuthorizationUrl`).
 */
import express, { type Express } from "express";
import { fletAuth, type OAuthProvider } from "flet-auth";

// As in the guide: a page that closes the popup. Served on success; errors get flet-auth's error page.
const completePageHtml = `<!DOCTYPE html>
<html>
<head><title>Signed in to MyApp</title></head>
<body>
<script type="text/javascript">window.close();</script>
<p>You've been successfully signed in! You can close this tab or window now.</p>
</body>
</html>`;

export function createApp(options: { provider: OAuthProvider; secret: string }): Express {
  const app = express();
  app.use(fletAuth({ providers: { idp: options.provider }, secret: options.secret }));

  // page.login(provider, complete_page_html=...): popup flow ending on the custom page.
  app.get("/login-popup", (req, _res, next) => {
    req.login("idp", { completePageHtml, redirectToPage: false }).catch(next);
  });

  // A template function renders success and failure differently; its values are HTML-escaped.
  app.get("/login-branded", (req, _res, next) => {
    req
      .login("idp", {
        redirectToPage: false,
        completePageHtml: (o) => (o.ok ? `<h1>Welcome via ${o.provider}</h1>` : `<h1>Sign-in failed: ${o.errorDescription}</h1>`),
      })
      .catch(next);
  });

  // page.login(provider, on_open_authorization_url=..., redirect_to_page=True): same tab.
  app.get("/login-same-tab", (req, res, next) => {
    req
      .login("idp", {
        redirectToPage: true,
        returnTo: "/",
        onOpenAuthorizationUrl: (url) => {
          res.redirect(302, url);
        },
      })
      .catch(next);
  });

  app.get("/", (req, res) => res.send(req.auth ? `signed in: ${req.auth.user?.id}` : "signed out"));
  return app;
}
