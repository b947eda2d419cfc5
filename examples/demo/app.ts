/**
 * The zero-configuration demo (`npm start`): an Express 5 app with flet-auth, signed in against
 * the local demo identity provider (examples/demo/idp.ts), plus GitHub / Azure / Auth0 / Google
 * buttons when their credentials are in the environment.
 *
 * Pages are server-rendered, every value HTML-escaped, no external resources. The only script is
 * flet-auth's browser helper (`/flet-auth/client.js`) and a small inline one that updates the page
 * in place after a popup sign-in.
 */
import { randomBytes } from "node:crypto";
import { createServer, type RequestListener, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import express, { type NextFunction, type Request, type Response } from "express";
import {
  Auth0OAuthProvider,
  AzureOAuthProvider,
  fletAuth,
  GitHubOAuthProvider,
  GoogleOAuthProvider,
  OAuthProvider,
  type CompletePageTemplate,
  type FletAuthMiddleware,
  type Group,
  type User,
} from "flet-auth";
import { startDemoIdp, type DemoIdp } from "./idp.js";

/** The demo's own session key: the last failed sign-in, shown once on the home page. */
declare module "express-session" {
  interface SessionData {
    demoLoginError?: { readonly provider: string; readonly error: string; readonly description: string };
  }
}

/** Options of {@link createDemo}. */
export interface DemoOptions {
  /** Port of the app; 0 picks an ephemeral one. */
  readonly port: number;
  /** Host name in the app's URLs and the redirect URI. @default "localhost" */
  readonly host?: string;
  /** Port of the demo identity provider. @default 0 (ephemeral) */
  readonly idpPort?: number;
  /** Where credentials come from (the library itself never reads `process.env`). @default {} */
  readonly env?: NodeJS.ProcessEnv;
  /** The complete page of popup logins; flet-auth's default page when unset. */
  readonly completePageHtml?: CompletePageTemplate;
  /** Receives login/logout log lines (never tokens). @default console.log */
  readonly log?: (line: string) => void;
}

/** A running demo. */
export interface Demo {
  /** e.g. "http://localhost:8550" */
  readonly url: string;
  readonly idp: DemoIdp;
  readonly auth: FletAuthMiddleware;
  close(): Promise<void>;
}

const DEMO_CLIENT_ID = "flet-auth-demo";

/** Starts the demo identity provider and the app; resolves once both listen. */
export async function createDemo(options: DemoOptions): Promise<Demo> {
  const host = options.host ?? "localhost";
  const env = options.env ?? {};
  const log = options.log ?? ((line: string) => console.log(line));

  // The IdP must know the redirect URI, which carries the app's port: listen first, mount later.
  const routing: { listener?: RequestListener } = {};
  const server = createServer((req, res) => {
    if (routing.listener) return routing.listener(req, res);
    res.writeHead(503, { "content-type": "text/plain" }).end("Starting…");
  });
  const port = await listen(server, options.port, bindAddress(host));
  const origin = `http://${host}:${port}`;
  const redirectUrl = `${origin}/oauth_callback`;
  const clientSecret = randomBytes(24).toString("base64url");

  let idp: DemoIdp;
  try {
    idp = await startDemoIdp({
      port: options.idpPort ?? 0,
      issuerHost: host,
      clients: [{ clientId: DEMO_CLIENT_ID, clientSecret, redirectUris: [redirectUrl], postLogoutRedirectUris: [`${origin}/flet-auth/logged-out`] }],
    });
  } catch (err) {
    await closeServer(server);
    throw err;
  }

  const real = realProviders(env, redirectUrl);
  const auth = fletAuth({
    providers: { demo: demoProvider(idp, clientSecret, redirectUrl), ...real },
    secret: env["SESSION_SECRET"] || randomSecret(),
    rememberMe: { secretKey: env["REMEMBER_ME_KEY"] || randomSecret() },
    fetchGroups: true,
    // Signing out of the demo signs out at its identity provider too (RP-initiated logout), so the
    // next "Login" shows the provider's form again.
    idpLogout: true,
    ...(options.completePageHtml !== undefined ? { completePageHtml: options.completePageHtml } : {}),
  });
  logEvents(auth, log);
  keepLoginErrors(auth);
  routing.listener = buildApp(auth, Object.keys(real)) as unknown as RequestListener;

  let closing: Promise<void> | undefined;
  return {
    url: origin,
    idp,
    auth,
    close: () => (closing ??= Promise.all([closeServer(server), idp.close()]).then(() => undefined)),
  };
}

/** The demo IdP as a generic provider; groups come from its `groups` claim. */
function demoProvider(idp: DemoIdp, clientSecret: string, redirectUrl: string): OAuthProvider {
  return new OAuthProvider({
    clientId: DEMO_CLIENT_ID,
    clientSecret,
    authorizationEndpoint: idp.authorizationEndpoint,
    tokenEndpoint: idp.tokenEndpoint,
    userEndpoint: idp.userinfoEndpoint,
    userId: (profile) => String(profile["sub"]),
    userScopes: ["openid", "profile", "email"],
    redirectUrl,
    // oidc-provider sends `iss` with every authorization response (RFC 9207).
    issuer: idp.issuer,
    requireIssuer: true,
    // OpenID Connect: ID tokens verified against the provider's keys (req.auth.claims), and its
    // logout and revocation endpoints used at sign-out.
    jwksUri: idp.jwksUri,
    endSessionEndpoint: idp.endSessionEndpoint,
    revocationEndpoint: idp.revocationEndpoint,
    fetchGroups: async (ctx) => {
      const { data } = await ctx.getJson(idp.userinfoEndpoint);
      const groups = (data as { groups?: unknown }).groups;
      return Array.isArray(groups) ? groups.filter((g) => typeof g === "string").map((name: string) => ({ name })) : [];
    },
  });
}

/** GitHub, Azure, Auth0 and Google, each only when its credentials are set. */
function realProviders(env: NodeJS.ProcessEnv, redirectUrl: string): Record<string, OAuthProvider> {
  const providers: Record<string, OAuthProvider> = {};
  const { GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, AZURE_TENANT } = env;
  const { AUTH0_DOMAIN, AUTH0_CLIENT_ID, AUTH0_CLIENT_SECRET, GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET } = env;
  if (GITHUB_CLIENT_ID && GITHUB_CLIENT_SECRET) {
    providers["github"] = new GitHubOAuthProvider({ clientId: GITHUB_CLIENT_ID, clientSecret: GITHUB_CLIENT_SECRET, redirectUrl });
  }
  if (AZURE_CLIENT_ID && AZURE_CLIENT_SECRET) {
    providers["azure"] = new AzureOAuthProvider({
      clientId: AZURE_CLIENT_ID,
      clientSecret: AZURE_CLIENT_SECRET,
      redirectUrl,
      ...(AZURE_TENANT ? { tenant: AZURE_TENANT } : {}),
    });
  }
  if (AUTH0_DOMAIN && AUTH0_CLIENT_ID && AUTH0_CLIENT_SECRET) {
    providers["auth0"] = new Auth0OAuthProvider({ domain: AUTH0_DOMAIN, clientId: AUTH0_CLIENT_ID, clientSecret: AUTH0_CLIENT_SECRET, redirectUrl });
  }
  if (GOOGLE_CLIENT_ID && GOOGLE_CLIENT_SECRET) {
    providers["google"] = new GoogleOAuthProvider({ clientId: GOOGLE_CLIENT_ID, clientSecret: GOOGLE_CLIENT_SECRET, redirectUrl });
  }
  return providers;
}

const PROVIDER_LABELS: Readonly<Record<string, string>> = { demo: "Demo", github: "GitHub", azure: "Azure", auth0: "Auth0", google: "Google" };

function logEvents(auth: FletAuthMiddleware, log: (line: string) => void): void {
  auth.on("login", (e) => {
    if (e.error) {
      log(`login failed: provider=${e.provider || "?"} error=${e.error} (${e.errorDescription ?? ""}) via ${e.source}`);
    } else {
      const user = e.auth?.user;
      log(`login: provider=${e.provider} user=${user?.id ?? "?"} email=${stringField(user, "email") || "-"} via ${e.source}`);
    }
  });
  auth.on("refresh", (e) => log(`refresh: provider=${e.provider} user=${e.auth.user?.id ?? "?"}`));
  auth.on("logout", (e) => log(`logout: provider=${e.provider} user=${e.auth?.user?.id ?? "?"} reason=${e.reason}`));
}

/**
 * A failed sign-in ends on flet-auth's error page, whose "Return to the application" link leads
 * home: the error is kept in the session until the home page has shown it. A sign-in that
 * succeeds forgets it.
 */
function keepLoginErrors(auth: FletAuthMiddleware): void {
  auth.on("login", (e) => {
    const session = e.req.session;
    if (e.source !== "callback" || session === undefined) return;
    if (e.error) session.demoLoginError = { provider: e.provider, error: e.error, description: e.errorDescription ?? "" };
    else delete session.demoLoginError;
  });
}

/** The last failed sign-in, removed from the session: shown once. */
function takeLoginError(req: Request): string {
  const failed = req.session?.demoLoginError;
  if (failed === undefined) return "";
  delete req.session.demoLoginError;
  const label = PROVIDER_LABELS[failed.provider] ?? failed.provider;
  const why = failed.description && failed.description !== failed.error ? `${failed.description} (${failed.error})` : failed.error;
  return `Sign-in${label ? ` with ${label}` : ""} did not complete: ${why.replace(/[.\s]+$/, "")}.`;
}

/** The app; `realProviders` are the names of the configured GitHub/Azure/Auth0/Google providers. */
function buildApp(auth: FletAuthMiddleware, realProviders: readonly string[]): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.use(auth);

  app.get("/", (req, res) => {
    sendPage(res, 200, "flet-auth demo", homeBody(req, realProviders, takeLoginError(req)), HOME_SCRIPT);
  });

  // The popup already showed its error on the home page: it need not come back on the next visit.
  app.delete("/login-error", (req, res) => {
    if (req.session?.demoLoginError !== undefined) delete req.session.demoLoginError;
    res.set("Cache-Control", "no-store").status(204).end();
  });

  // Flet's page.login with a custom complete page; the callback answers it instead of redirecting.
  app.get("/login-custom", async (req) => {
    await req.login("demo", {
      redirectToPage: false,
      returnTo: "/",
      // The values in `o` are already HTML-escaped; the page carries the demo's own style.
      completePageHtml: (o) =>
        o.ok
          ? completeDocument("Welcome", `<h1 id="custom-ok">Welcome back via ${o.provider}</h1><p class="lead">This is the app's own complete page (the <code>completePageHtml</code> option).</p><p class="actions"><a class="button" href="${o.returnTo}">Back to the demo</a></p>`)
          : completeDocument("Sign-in failed", `<h1 id="custom-error">${o.error}</h1><p class="error" role="alert">${o.errorDescription}</p><p class="actions"><a class="button" href="${o.returnTo}">Back to the demo</a></p>`),
    });
  });

  // A call to the provider's API with a token that getToken() refreshed if it was about to expire.
  app.get("/api/profile", async (req, res) => {
    res.set("Cache-Control", "no-store");
    if (!req.auth) {
      res.status(401).json({ error: "signed_out", message: "Sign in first." });
      return;
    }
    const endpoint = req.auth.oauthProvider.userEndpoint;
    if (endpoint === undefined) {
      res.status(501).json({ error: "no_user_endpoint", message: `${req.auth.provider} has no profile endpoint to call.` });
      return;
    }
    const token = await req.auth.getToken();
    const answer = await fetch(endpoint, {
      headers: { Authorization: `Bearer ${token.accessToken}`, Accept: "application/json", "User-Agent": "flet-auth-demo" },
      signal: AbortSignal.timeout(10_000),
    });
    const body: unknown = await answer.json().catch(() => null);
    res.status(answer.ok ? 200 : 502).json({
      provider: req.auth.provider,
      endpoint,
      status: answer.status,
      tokenExpiresAt: token.expiresAt ?? null,
      profile: body,
    });
  });

  app.get("/favicon.ico", (_req, res) => {
    res.status(204).end();
  });

  app.use((_req: Request, res: Response) => {
    sendPage(res, 404, "Not found", `<h1>Not found</h1><p>There is no such page. <a href="/">Back to the demo</a></p>`);
  });
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    void _next;
    const status = statusOf(err);
    const message = err instanceof Error ? err.message : "Unexpected error.";
    if (status >= 500) console.error("demo: request failed", err);
    if (req.path.startsWith("/api/")) {
      res.status(status).json({ error: (err as { code?: string }).code ?? "error", message });
      return;
    }
    sendPage(res, status, "Error", `<h1>Something went wrong</h1><p class="error" role="alert">${escapeHtml(message)}</p><p><a href="/">Back to the demo</a></p>`);
  });
  return app;
}

function homeBody(req: Request, realProviders: readonly string[], loginError: string): string {
  const auth = req.auth;
  const user = auth?.user;
  const realButtons = realProviders
    .map((name) => `<a class="button secondary" data-login href="/login/${name}?returnTo=/">Login with ${escapeHtml(PROVIDER_LABELS[name] ?? name)}</a>`)
    .join("\n      ");
  return `<h1>flet-auth demo</h1>
  <p class="lead">Flet's “Login with X” for Express.</p>
  <p id="login-error" class="error" role="alert"${loginError ? "" : " hidden"}>${escapeHtml(loginError)}</p>
  <section id="signed-out"${auth ? " hidden" : ""}>
    <p class="status">You are signed out.</p>
    <p id="demo-credentials" class="hint">Sign in at the local identity provider as <code>demo@example.com</code> / <code>demo</code>.</p>
    <p class="actions">
      <a id="login-demo" class="button" data-login href="/login/demo?returnTo=/">Login with Demo</a>
      <button id="login-demo-popup" type="button" data-flet-auth-popup="demo">Login with Demo (popup)</button>
      ${realButtons}
    </p>
    <p><label><input id="remember" type="checkbox"> Remember me</label></p>
    <p><a id="login-custom" href="/login-custom">Sign in with a custom complete page</a></p>
  </section>
  <section id="signed-in"${auth ? "" : " hidden"}>
    <p class="status">Signed in with <strong id="auth-provider">${escapeHtml(auth?.provider ?? "")}</strong> as <strong id="user-name">${escapeHtml(stringField(user, "name"))}</strong>.</p>
    <dl>
      <dt>Name</dt><dd id="user-name-field">${escapeHtml(stringField(user, "name"))}</dd>
      <dt>Email</dt><dd id="user-email">${escapeHtml(stringField(user, "email"))}</dd>
      <dt>ID</dt><dd id="user-id">${escapeHtml(user?.id ?? "")}</dd>
      <dt>Groups</dt><dd><ul id="user-groups">${groupItems(user?.groups ?? [])}</ul></dd>
    </dl>
    <p class="actions">
      <button id="call-api" type="button">Call API with token</button>
    </p>
    <pre id="api-result" hidden></pre>
    <form method="post" action="/logout"><button id="logout" class="secondary" type="submit">Logout</button></form>
  </section>`;
}

function groupItems(groups: readonly Group[]): string {
  return groups.map((g) => `<li>${escapeHtml(g.name)}</li>`).join("");
}

function stringField(user: User | undefined, field: string): string {
  const value = user?.[field];
  return typeof value === "string" || typeof value === "number" ? String(value) : "";
}

const STYLE = `
[hidden]{display:none!important}
body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#111827;background:#f9fafb;margin:0;padding:2rem 1rem}
main{max-width:40rem;margin:0 auto;background:#fff;border-radius:.5rem;box-shadow:0 1px 3px rgba(0,0,0,.12);padding:1.5rem 2rem}
h1{font-size:1.5rem;margin:0 0 .5rem}
.lead{color:#4b5563}
.actions{display:flex;flex-wrap:wrap;gap:.5rem}
.button,button{display:inline-block;font:inherit;padding:.45rem 1rem;border-radius:.25rem;border:1px solid #1d4ed8;background:#2563eb;color:#fff;text-decoration:none;cursor:pointer}
.secondary{background:#fff;color:#1d4ed8}
.button:focus-visible,button:focus-visible,input:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}
dt{font-weight:600}dd{margin:0}ul{margin:0;padding-left:1.2rem}
pre{background:#f3f4f6;border-radius:.25rem;padding:.75rem;overflow:auto;font-size:.85rem}
.error{color:#b91c1c}
code{background:#f3f4f6;padding:0 .2rem;border-radius:.2rem}
.hint{background:#eff6ff;border:1px solid #bfdbfe;border-radius:.25rem;padding:.5rem .75rem}
`;

/**
 * A whole page in the demo's style for a `completePageHtml` template. flet-auth serves template
 * pages with only `frame-ancestors 'none'` as their policy, so the style needs no nonce.
 */
function completeDocument(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
  ${body}
</main>
</body>
</html>
`;
}

/** Runs in the browser: remember-me on the login links, and the in-place update after a popup login. */
const HOME_SCRIPT = `
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var remember = $("remember"), popupButton = $("login-demo-popup");
  function syncRemember() {
    document.querySelectorAll("a[data-login]").forEach(function (a) {
      var url = new URL(a.getAttribute("href"), location.href);
      if (remember.checked) url.searchParams.set("remember", "1"); else url.searchParams.delete("remember");
      a.setAttribute("href", url.pathname + url.search);
    });
    popupButton.toggleAttribute("data-remember", remember.checked);
  }
  remember.addEventListener("change", syncRemember);
  syncRemember();

  function text(id, value) { $(id).textContent = value == null ? "" : String(value); }
  function render(status) {
    var user = status.user || {};
    text("auth-provider", status.provider);
    text("user-name", user.name);
    text("user-name-field", user.name);
    text("user-email", user.email);
    text("user-id", user.id);
    var list = $("user-groups");
    list.replaceChildren.apply(list, (user.groups || []).map(function (g) {
      var li = document.createElement("li");
      li.textContent = g.name;
      return li;
    }));
    $("signed-in").hidden = !status.signedIn;
    $("signed-out").hidden = !!status.signedIn;
  }
  document.addEventListener("flet-auth:login", function (event) {
    var detail = event.detail || {};
    var error = $("login-error");
    if (!detail.ok) {
      error.textContent = "Sign-in did not complete: " + (detail.error || "unknown error") + ".";
      error.hidden = false;
      // Shown here already: not again on the next visit of the home page.
      fetch("/login-error", { method: "DELETE", credentials: "same-origin" }).catch(function () {});
      return;
    }
    error.hidden = true;
    window.fletAuth.status().then(render, function () { location.reload(); });
  });

  $("call-api").addEventListener("click", function () {
    var out = $("api-result");
    out.hidden = false;
    out.textContent = "Calling…";
    fetch("/api/profile", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (body) { out.textContent = JSON.stringify(body, null, 2); },
            function (e) { out.textContent = "Request failed: " + e.message; });
  });
})();
`;

function sendPage(res: Response, status: number, title: string, body: string, script?: string): void {
  const nonce = randomBytes(16).toString("base64");
  // form-action also covers the redirect a form's answer makes: the Logout form's POST answers
  // with a redirect to the identity provider's end-session page (RP-initiated logout), on
  // loopback for the demo provider, on https for the real ones.
  res.set(
    "Content-Security-Policy",
    `default-src 'none'; script-src 'self' 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; ` +
      "img-src 'self'; form-action 'self' http://localhost:* http://127.0.0.1:* https:; base-uri 'none'; frame-ancestors 'none'",
  );
  res.set("Cache-Control", "no-store");
  res.set("X-Content-Type-Options", "nosniff");
  res.set("Referrer-Policy", "no-referrer");
  res.status(status).type("html").send(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style nonce="${nonce}">${STYLE}</style>
</head>
<body>
<main>
  ${body}
</main>
${script ? `<script src="/flet-auth/client.js"></script>\n<script nonce="${nonce}">${script}</script>` : ""}
</body>
</html>
`);
}

const ESCAPES: Readonly<Record<string, string>> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

function statusOf(err: unknown): number {
  const status = (err as { status?: unknown } | null)?.status;
  return typeof status === "number" && status >= 400 && status < 600 ? status : 500;
}

function randomSecret(): string {
  return randomBytes(32).toString("base64url");
}

/** "localhost" binds loopback IPv4 only, like the demo IdP: never reachable from the network. */
function bindAddress(host: string): string {
  return host === "localhost" ? "127.0.0.1" : host;
}

function listen(server: Server, port: number, address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, address, () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!server.listening) return resolve();
    server.close((err) => (err ? reject(err) : resolve()));
    server.closeAllConnections();
  });
}
