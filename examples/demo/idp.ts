/**
 * A small, self-contained OpenID Provider for the zero-config demo (`npm start`)
 * and for the test suite, built on panva's `oidc-provider` (v9) and running
 * in-process on loopback.
 *
 * - Issuer `http://<issuerHost>:<port>`, bound to 127.0.0.1 only.
 * - Confidential clients (`client_secret_post`, `client_secret_basic` also
 *   accepted), authorization_code + refresh_token, PKCE (S256) required,
 *   refresh tokens always issued and rotated on every use.
 * - Opaque access tokens with a short TTL; userinfo (`/me`) returns `sub`,
 *   `name`, `email`, `email_verified` and `groups` (the `groups` claim belongs
 *   to the `profile` scope).
 * - Own minimal login + consent pages (no devInteractions), with stable ids for
 *   browser tests, and a programmatic {@link DemoIdp.signIn} for HTTP-only tests.
 *
 * This is a development tool: in-memory storage, a password list in memory,
 * plain HTTP. Never expose it beyond loopback.
 */
import { createHash, generateKeyPair, randomBytes, timingSafeEqual, type JsonWebKey } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { promisify } from "node:util";

// ---------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------

export interface DemoIdpUser {
  /** Subject identifier (`sub`). */
  id: string;
  name: string;
  /** Also the login name typed into the "Email" field. */
  email: string;
  password: string;
  groups?: string[];
}

export interface DemoIdpClient {
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
  /** Where RP-initiated logout may send the browser back (OpenID Connect RP-Initiated Logout 1.0). */
  postLogoutRedirectUris?: string[];
}

export interface DemoIdpOptions {
  /** TCP port; 0 (default) picks an ephemeral port. The bind host is always 127.0.0.1. */
  port?: number;
  /** Host used in the issuer URL (default "127.0.0.1"; the demo uses "localhost"). */
  issuerHost?: string;
  clients: DemoIdpClient[];
  /** Access token lifetime in seconds (default 60). */
  accessTokenTtl?: number;
  /** Accounts that can sign in (default: {@link DEFAULT_DEMO_USER}). */
  users?: DemoIdpUser[];
  /** Receives diagnostic lines (oidc-provider notices, sign-ins, server errors). Silent by default. */
  logger?: (line: string) => void;
}

export type DemoIdpGrantType = "authorization_code" | "refresh_token";

export interface DemoIdpSignInOptions {
  /** The "Email" field (an email, or a user id); default: the first configured user's email. */
  login?: string;
  /** Default: the first configured user's password. */
  password?: string;
  /** Press "Deny" on the consent page instead of "Allow". */
  deny?: boolean;
}

export interface DemoIdp {
  /** e.g. "http://127.0.0.1:4567" */
  readonly issuer: string;
  readonly port: number;
  readonly authorizationEndpoint: string;
  readonly tokenEndpoint: string;
  readonly userinfoEndpoint: string;
  readonly endSessionEndpoint: string;
  /** The provider's JSON Web Key Set (ID tokens are signed with its key). */
  readonly jwksUri: string;
  /** RFC 7009 revocation endpoint. */
  readonly revocationEndpoint: string;
  readonly users: ReadonlyArray<Readonly<DemoIdpUser>>;
  /** Token-endpoint requests observed for a grant type (via the provider's `grant.success` / `grant.error` events). */
  grants(type: DemoIdpGrantType): { success: number; error: number };
  /**
   * Programmatic user interaction for tests without a browser: starting from the
   * authorize URL produced by the app, follows redirects with a private cookie jar,
   * submits the login form (and the consent form) and resolves with the final
   * redirect to the client's redirect_uri (with `code` & `state`, or
   * `error=access_denied` when `deny` is true, or whatever error the provider
   * redirected with). Rejects if the credentials are refused or the provider
   * renders an error page instead of redirecting.
   */
  signIn(authorizeUrl: string, options?: DemoIdpSignInOptions): Promise<string>;
  close(): Promise<void>;
}

export const DEFAULT_DEMO_USER: Readonly<DemoIdpUser> = Object.freeze({
  id: "demo-user-1",
  name: "Demo User",
  email: "demo@example.com",
  password: "demo",
  groups: ["admins", "demo"],
});

// ---------------------------------------------------------------------------
// Minimal typings for the parts of oidc-provider used here (the package ships
// no type declarations and @types/oidc-provider is not a dependency).
// ---------------------------------------------------------------------------

interface OidcContextLike {
  oidc?: { params?: Record<string, unknown> };
}

interface InteractionDetails {
  uid: string;
  prompt: {
    name: string;
    reasons: string[];
    details: {
      missingOIDCScope?: string[];
      missingOIDCClaims?: string[];
      missingResourceScopes?: Record<string, string[]>;
    };
  };
  params: Record<string, unknown>;
  session?: { accountId: string };
  grantId?: string;
}

interface GrantLike {
  addOIDCScope(scope: string): void;
  addOIDCClaims(claims: string[]): void;
  addResourceScope(indicator: string, scope: string): void;
  save(): Promise<string>;
}

interface ProviderLike {
  readonly Client: { find(id: string): Promise<unknown> };
  readonly Grant: {
    new (init: { accountId: string; clientId: string }): GrantLike;
    find(id: string): Promise<GrantLike | undefined>;
  };
  callback(): (req: IncomingMessage, res: ServerResponse) => unknown;
  interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<InteractionDetails>;
  interactionFinished(
    req: IncomingMessage,
    res: ServerResponse,
    result: Record<string, unknown>,
    options?: { mergeWithLastSubmission?: boolean },
  ): Promise<void>;
  urlFor(name: string): string;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
}

type ProviderConstructor = new (issuer: string, configuration: Record<string, unknown>) => ProviderLike;

/** Lines oidc-provider printed while its module was evaluated (e.g. the Node < 22 "Unsupported runtime" warning). */
const importNotices: string[] = [];
let providerModule: Promise<ProviderConstructor> | undefined;

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

/**
 * Imports oidc-provider once. Its module body warns through console.warn on
 * Node < 22; those lines are captured (and later handed to options.logger)
 * instead of being printed. Other console output passes through untouched.
 */
function loadProvider(): Promise<ProviderConstructor> {
  providerModule ??= (async () => {
    const { warn, info } = console;
    const divert =
      (original: (...args: unknown[]) => void) =>
      (...args: unknown[]): void => {
        const line = args.map(String).join(" ").replace(ANSI, "");
        if (line.startsWith("oidc-provider ")) importNotices.push(line);
        else original.apply(console, args);
      };
    console.warn = divert(warn);
    console.info = divert(info);
    try {
      // A non-literal specifier keeps TypeScript from looking for (absent) declarations.
      const specifier = "oidc-provider";
      const mod = (await import(specifier)) as { default: ProviderConstructor };
      return mod.default;
    } catch (err) {
      providerModule = undefined;
      throw err;
    } finally {
      console.warn = warn;
      console.info = info;
    }
  })();
  return providerModule;
}

// ---------------------------------------------------------------------------
// Storage: a per-instance in-memory adapter (oidc-provider's built-in one
// prints a "development-only" warning; this one is equally development-only).
// ---------------------------------------------------------------------------

interface StoredEntry {
  payload: Record<string, unknown>;
  expiresAt: number; // epoch ms, Infinity when no expiry
}

function createMemoryAdapterFactory(): (model: string) => object {
  const store = new Map<string, StoredEntry>();
  const byUid = new Map<string, string>(); // Session uid -> id
  const byUserCode = new Map<string, string>();
  let writes = 0;

  const live = (key: string): StoredEntry | undefined => {
    const entry = store.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      store.delete(key);
      return undefined;
    }
    return entry;
  };
  const sweep = (): void => {
    const now = Date.now();
    for (const [key, entry] of store) if (entry.expiresAt <= now) store.delete(key);
  };

  return (model: string) => {
    const key = (id: string): string => `${model}:${id}`;
    const find = async (id: string | undefined): Promise<Record<string, unknown> | undefined> => {
      if (id === undefined) return undefined;
      const entry = live(key(id));
      return entry ? structuredClone(entry.payload) : undefined;
    };
    return {
      async upsert(id: string, payload: Record<string, unknown>, expiresIn?: number): Promise<void> {
        if (++writes % 200 === 0) sweep();
        const expiresAt = typeof expiresIn === "number" ? Date.now() + expiresIn * 1000 : Infinity;
        store.set(key(id), { payload: structuredClone(payload), expiresAt });
        if (model === "Session" && typeof payload.uid === "string") byUid.set(payload.uid, id);
        if (typeof payload.userCode === "string") byUserCode.set(payload.userCode, id);
      },
      find,
      async findByUid(uid: string) {
        return find(byUid.get(uid));
      },
      async findByUserCode(userCode: string) {
        return find(byUserCode.get(userCode));
      },
      async consume(id: string): Promise<void> {
        const entry = live(key(id));
        if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
      },
      async destroy(id: string): Promise<void> {
        store.delete(key(id));
      },
      async revokeByGrantId(grantId: string): Promise<void> {
        const prefix = `${model}:`;
        for (const [k, entry] of store) {
          if (k.startsWith(prefix) && entry.payload.grantId === grantId) store.delete(k);
        }
      },
    };
  };
}

// ---------------------------------------------------------------------------
// HTML
// ---------------------------------------------------------------------------

function escapeHtml(value: unknown): string {
  return String(value)
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

const STYLE = `
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f3f4f6;color:#111827;margin:0;padding:2rem 1rem}
main{max-width:24rem;margin:0 auto;background:#fff;border-radius:.5rem;box-shadow:0 1px 3px rgba(0,0,0,.15);padding:1.5rem 2rem}
h1{font-size:1.4rem;margin:0 0 1rem}
label{display:block;font-weight:600;margin:.75rem 0 .25rem}
input{box-sizing:border-box;width:100%;padding:.5rem;font-size:1rem;border:1px solid #9ca3af;border-radius:.25rem}
button{font-size:1rem;padding:.55rem 1.2rem;border-radius:.25rem;border:1px solid #1d4ed8;background:#2563eb;color:#fff;cursor:pointer;margin-top:1rem}
button.secondary{background:#fff;color:#1d4ed8}
button:focus-visible,input:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}
.alert{background:#fee2e2;color:#7f1d1d;border:1px solid #fca5a5;border-radius:.25rem;padding:.5rem .75rem}
.hint{background:#eff6ff;border:1px solid #bfdbfe;border-radius:.25rem;padding:.5rem .75rem;font-size:.9rem}
ul{padding-left:1.2rem}
`;

function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · Demo IdP</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>`;
}

function loginPage(uid: string, users: readonly DemoIdpUser[], clientId: unknown, error?: string, login?: string): string {
  const hints = users.map((u) => `${escapeHtml(u.email)} / ${escapeHtml(u.password)}`).join("<br>");
  return page(
    "Sign in",
    `<h1>Sign in</h1>
<p>to continue to <strong>${escapeHtml(clientId)}</strong></p>
${error ? `<p class="alert" role="alert" id="login-error">${escapeHtml(error)}</p>` : ""}
<form id="login-form" method="post" action="/interaction/${escapeHtml(uid)}/login">
<label for="login">Email</label>
<input id="login" name="login" type="text" inputmode="email" autocomplete="username" autocapitalize="off" spellcheck="false" required${
      error ? "" : " autofocus"
    } value="${escapeHtml(login ?? "")}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required${error ? " autofocus" : ""}>
<button id="sign-in" type="submit">Sign in</button>
</form>
<p class="hint" id="demo-credentials">Local demo identity provider. Demo account:<br>${hints}</p>`,
  );
}

function consentPage(uid: string, clientId: unknown, user: DemoIdpUser | undefined, scopes: string[]): string {
  const items = scopes.map((s) => `<li>${escapeHtml(s)}</li>`).join("");
  return page(
    "Authorize",
    `<h1>Authorize ${escapeHtml(clientId)}</h1>
<p>Signed in as <strong>${escapeHtml(user?.name ?? "unknown")}</strong>${user ? ` (${escapeHtml(user.email)})` : ""}.</p>
<p><strong>${escapeHtml(clientId)}</strong> is requesting access to:</p>
<ul id="scopes">${items || "<li>your account</li>"}</ul>
<form id="consent-form" method="post" action="/interaction/${escapeHtml(uid)}/consent">
<button id="allow" type="submit" name="decision" value="allow">Allow</button>
<button id="deny" class="secondary" type="submit" name="decision" value="deny">Deny</button>
</form>`,
  );
}

function messagePage(title: string, message: string): string {
  return page(title, `<h1>${escapeHtml(title)}</h1><p role="alert">${escapeHtml(message)}</p>`);
}

const SECURITY_HEADERS: Record<string, string> = {
  "cache-control": "no-store",
  "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, { ...SECURITY_HEADERS, "content-type": "text/html; charset=utf-8" });
  res.end(html);
}

async function readForm(req: IncomingMessage, limit = 64 * 1024): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > limit) throw new Error("request body too large");
    chunks.push(buf);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
}

function safeEqual(a: string, b: string): boolean {
  const ha = createHash("sha256").update(a).digest();
  const hb = createHash("sha256").update(b).digest();
  return timingSafeEqual(ha, hb);
}

// ---------------------------------------------------------------------------
// Provider
// ---------------------------------------------------------------------------

const generateKeyPairAsync = promisify(generateKeyPair);

async function signingJwk(): Promise<JsonWebKey> {
  const { privateKey } = await generateKeyPairAsync("rsa", { modulusLength: 2048 });
  return { ...privateKey.export({ format: "jwk" }), use: "sig", alg: "RS256", kid: randomBytes(8).toString("hex") };
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once("error", onError);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function formatHost(host: string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}

export async function startDemoIdp(options: DemoIdpOptions): Promise<DemoIdp> {
  const log = options.logger ?? ((): void => {});
  const users: DemoIdpUser[] = (options.users ?? [DEFAULT_DEMO_USER]).map((u) => ({
    ...u,
    groups: [...(u.groups ?? [])],
  }));
  if (users.length === 0) throw new Error("startDemoIdp: at least one user is required");
  const accessTokenTtl = options.accessTokenTtl ?? 60;
  const findUser = (login: string): DemoIdpUser | undefined => {
    const needle = login.trim().toLowerCase();
    return users.find((u) => u.email.toLowerCase() === needle || u.id === login.trim());
  };

  const [Provider, jwk] = await Promise.all([loadProvider(), signingJwk()]);
  for (const line of importNotices) log(line);

  const counts: Record<DemoIdpGrantType, { success: number; error: number }> = {
    authorization_code: { success: 0, error: 0 },
    refresh_token: { success: 0, error: 0 },
  };

  // Bind first (port 0 => ephemeral) so the issuer carries the real port.
  const routing: { handler?: (req: IncomingMessage, res: ServerResponse) => void } = {};
  const server = createServer((req, res) => {
    if (routing.handler) routing.handler(req, res);
    else sendHtml(res, 503, messagePage("Starting", "The identity provider is starting."));
  });
  const port = await listen(server, options.port ?? 0);
  const issuer = `http://${formatHost(options.issuerHost ?? "127.0.0.1")}:${port}`;

  let provider: ProviderLike;
  try {
    provider = createProvider(Provider, issuer, {
      users,
      clients: options.clients,
      accessTokenTtl,
      jwk,
    });
    // Static clients are only validated on first use; fail fast instead.
    await Promise.all(options.clients.map((c) => provider.Client.find(c.clientId)));
  } catch (err) {
    // e.g. invalid client metadata: do not leave the port bound.
    server.close();
    throw new Error(`startDemoIdp: invalid configuration: ${describeError(err)}`, { cause: err });
  }

  const count = (ctx: unknown, field: "success" | "error"): void => {
    const type = (ctx as OidcContextLike | undefined)?.oidc?.params?.grant_type;
    if (type === "authorization_code" || type === "refresh_token") counts[type][field] += 1;
  };
  provider.on("grant.success", (ctx) => count(ctx, "success"));
  provider.on("grant.error", (ctx, err) => {
    count(ctx, "error");
    log(`token endpoint error: ${describeError(err)}`);
  });
  provider.on("server_error", (_ctx, err) => log(`server_error: ${describeError(err, true)}`));
  // Koa prints unhandled errors to stderr unless an "error" listener exists.
  provider.on("error", (err) => log(`koa error: ${describeError(err, true)}`));

  const interactions = createInteractionHandler(provider, users, findUser, log);
  const providerCallback = provider.callback();
  routing.handler = (req, res) => {
    const path = (req.url ?? "/").split("?", 1)[0] ?? "/";
    const match = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|consent))?$/.exec(path);
    if (match) {
      interactions(req, res, match[1] ?? "", match[2]).catch((err: unknown) => {
        log(`interaction failure: ${describeError(err, true)}`);
        if (!res.headersSent) sendHtml(res, 500, messagePage("Error", "Unexpected error."));
        else res.end();
      });
      return;
    }
    void providerCallback(req, res);
  };

  const authorizationEndpoint = provider.urlFor("authorization");
  const tokenEndpoint = provider.urlFor("token");
  const userinfoEndpoint = provider.urlFor("userinfo");
  const endSessionEndpoint = provider.urlFor("end_session");
  log(`demo IdP listening on http://127.0.0.1:${port} (issuer ${issuer})`);

  const idpOrigins = new Set([new URL(issuer).origin, `http://127.0.0.1:${port}`]);
  const redirectTargets = options.clients.flatMap((c) => c.redirectUris.map(stripQuery));

  let closed: Promise<void> | undefined;
  return {
    issuer,
    port,
    authorizationEndpoint,
    tokenEndpoint,
    userinfoEndpoint,
    endSessionEndpoint,
    jwksUri: provider.urlFor("jwks"),
    revocationEndpoint: provider.urlFor("revocation"),
    users,
    grants: (type) => ({ ...counts[type] }),
    signIn: (authorizeUrl, signInOptions = {}) =>
      programmaticSignIn(authorizeUrl, signInOptions, {
        issuer,
        idpOrigins,
        redirectTargets,
        defaultUser: users[0] as DemoIdpUser,
      }),
    close() {
      closed ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

function createProvider(
  Provider: ProviderConstructor,
  issuer: string,
  settings: { users: DemoIdpUser[]; clients: DemoIdpClient[]; accessTokenTtl: number; jwk: JsonWebKey },
): ProviderLike {
  const { users, clients, accessTokenTtl, jwk } = settings;
  return new Provider(issuer, {
    adapter: createMemoryAdapterFactory(),
    jwks: { keys: [jwk] },
    clients: clients.map((c) => ({
      client_id: c.clientId,
      client_secret: c.clientSecret,
      redirect_uris: c.redirectUris,
      post_logout_redirect_uris: c.postLogoutRedirectUris ?? [],
      // "web" (the default) is kept on purpose: oidc-provider only forbids
      // http/localhost redirect URIs for web clients using the implicit flow.
      application_type: "web",
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      // client_secret_basic is accepted too: oidc-provider treats the two as
      // interchangeable for a client registered with either.
      token_endpoint_auth_method: "client_secret_post",
    })),
    responseTypes: ["code"],
    clientAuthMethods: ["client_secret_post", "client_secret_basic"],
    // Plain-HTTP loopback: cookies must be signed but cannot be `secure`
    // (oidc-provider only adds `secure` when the request itself is https).
    cookies: { keys: [randomBytes(32).toString("base64url")] },
    claims: {
      openid: ["sub"],
      profile: ["name", "groups"],
      email: ["email", "email_verified"],
    },
    async findAccount(_ctx: unknown, sub: string) {
      const user = users.find((u) => u.id === sub);
      if (!user) return undefined;
      return {
        accountId: user.id,
        async claims() {
          return {
            sub: user.id,
            name: user.name,
            email: user.email,
            email_verified: true,
            groups: [...(user.groups ?? [])],
          };
        },
      };
    },
    pkce: { required: () => true }, // only S256 exists in oidc-provider 9
    // A refresh token for every code exchange of a client allowed to refresh:
    // oidc-provider strips `offline_access` from authorization requests that do
    // not carry prompt=consent, so the default policy would never issue one to
    // the middleware. Rotated on every use; reusing a rotated-out token is
    // invalid_grant and revokes the whole grant (reuse detection).
    issueRefreshToken: async (_ctx: unknown, client: { grantTypeAllowed(type: string): boolean }) =>
      client.grantTypeAllowed("refresh_token"),
    rotateRefreshToken: true,
    ttl: {
      AccessToken: accessTokenTtl,
      AuthorizationCode: 60,
      IdToken: 3600,
      RefreshToken: 24 * 3600,
      Grant: 24 * 3600,
      Session: 24 * 3600,
      Interaction: 15 * 60,
    },
    features: {
      devInteractions: { enabled: false },
      // RFC 7009: flet-auth revokes the refresh token at sign-out.
      revocation: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx: { body?: unknown; type?: string }, form: string) {
          ctx.type = "html";
          // `form` is oidc-provider's own hidden form (action + xsrf token).
          ctx.body = page(
            "Sign out",
            `<h1>Sign out of the demo IdP?</h1>${form}
<button id="logout-yes" type="submit" form="op.logoutForm" name="logout" value="yes">Yes, sign me out</button>
<button id="logout-no" class="secondary" type="submit" form="op.logoutForm">No, stay signed in</button>`,
          );
        },
        async postLogoutSuccessSource(ctx: { body?: unknown; type?: string }) {
          ctx.type = "html";
          ctx.body = messagePage("Signed out", "You have been signed out of the demo IdP.");
        },
      },
    },
    interactions: {
      url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}`,
    },
    clientBasedCORS: () => false, // the middleware talks to the IdP server-side only
    async renderError(ctx: { body?: unknown; type?: string }, out: Record<string, unknown>) {
      ctx.type = "html";
      const rows = Object.entries(out)
        .map(([k, v]) => `<p><strong>${escapeHtml(k)}</strong>: <span data-key="${escapeHtml(k)}">${escapeHtml(v)}</span></p>`)
        .join("");
      ctx.body = page("Error", `<h1>Something went wrong</h1><div role="alert" id="error">${rows}</div>`);
    },
  });
}

function describeError(err: unknown, withStack = false): string {
  if (err instanceof Error) {
    const { error_description: description, error_detail: detail } = err as Error & {
      error_description?: unknown;
      error_detail?: unknown;
    };
    const extra = [description, detail].filter((x) => typeof x === "string" && x !== err.message).join("; ");
    const base = `${err.name}: ${err.message}${extra ? ` (${extra})` : ""}`;
    return withStack && err.stack ? `${base}\n${err.stack}` : base;
  }
  return String(err);
}

function stripQuery(uri: string): string {
  const u = new URL(uri);
  return `${u.origin}${u.pathname}`;
}

// ---------------------------------------------------------------------------
// Interaction routes: GET /interaction/:uid, POST /interaction/:uid/login,
// POST /interaction/:uid/consent (decision=allow|deny)
// ---------------------------------------------------------------------------

function createInteractionHandler(
  provider: ProviderLike,
  users: readonly DemoIdpUser[],
  findUser: (login: string) => DemoIdpUser | undefined,
  log: (line: string) => void,
): (req: IncomingMessage, res: ServerResponse, uid: string, action: string | undefined) => Promise<void> {
  return async (req, res, uid, action) => {
    const method = req.method ?? "GET";
    if ((action === undefined && method !== "GET" && method !== "HEAD") || (action !== undefined && method !== "POST")) {
      res.setHeader("allow", action === undefined ? "GET, HEAD" : "POST");
      sendHtml(res, 405, messagePage("Method not allowed", "This page does not accept that request method."));
      return;
    }

    let details: InteractionDetails;
    try {
      details = await provider.interactionDetails(req, res);
    } catch (err) {
      // SessionNotFound: missing/expired interaction cookie, stale tab, ...
      log(`interaction ${uid}: ${describeError(err)}`);
      sendHtml(
        res,
        400,
        messagePage("Sign-in expired", "This sign-in request has expired or is invalid. Go back to the application and start again."),
      );
      return;
    }
    if (details.uid !== uid) {
      sendHtml(res, 400, messagePage("Sign-in mismatch", "This page does not belong to the current sign-in request."));
      return;
    }

    const clientId = details.params.client_id;
    const prompt = details.prompt.name;

    if (action === undefined) {
      if (prompt === "login") {
        sendHtml(res, 200, loginPage(uid, users, clientId));
      } else if (prompt === "consent") {
        const user = users.find((u) => u.id === details.session?.accountId);
        const scopes = details.prompt.details.missingOIDCScope ?? String(details.params.scope ?? "").split(" ").filter(Boolean);
        sendHtml(res, 200, consentPage(uid, clientId, user, scopes));
      } else {
        sendHtml(res, 501, messagePage("Unsupported", `Unsupported interaction prompt "${prompt}".`));
      }
      return;
    }

    const form = await readForm(req);

    if (action === "login") {
      if (prompt !== "login") {
        sendHtml(res, 400, messagePage("Unexpected request", "The sign-in step was already completed."));
        return;
      }
      const login = form.get("login") ?? "";
      const password = form.get("password") ?? "";
      const user = findUser(login);
      // Compare even for unknown users so timing does not reveal valid logins.
      const ok = safeEqual(password, user?.password ?? randomBytes(16).toString("hex")) && user !== undefined;
      if (!ok) {
        log(`interaction ${uid}: sign-in refused for ${JSON.stringify(login)}`);
        // 200 (not 401): a re-rendered form, and no "failed resource" noise in browser consoles.
        sendHtml(res, 200, loginPage(uid, users, clientId, "Invalid email or password.", login));
        return;
      }
      log(`interaction ${uid}: signed in ${user.id} for client ${String(clientId)}`);
      await provider.interactionFinished(req, res, { login: { accountId: user.id } }, { mergeWithLastSubmission: false });
      return;
    }

    // action === "consent"
    if (prompt !== "consent") {
      sendHtml(res, 400, messagePage("Unexpected request", "There is nothing to authorize at this step."));
      return;
    }
    const accountId = details.session?.accountId;
    if (form.get("decision") !== "allow" || accountId === undefined) {
      log(`interaction ${uid}: access denied for client ${String(clientId)}`);
      await provider.interactionFinished(
        req,
        res,
        { error: "access_denied", error_description: "End-User denied the authorization request" },
        { mergeWithLastSubmission: false },
      );
      return;
    }
    const grant =
      (details.grantId ? await provider.Grant.find(details.grantId) : undefined) ??
      new provider.Grant({ accountId, clientId: String(clientId) });
    const missing = details.prompt.details;
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(" "));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
      grant.addResourceScope(indicator, scopes.join(" "));
    }
    const grantId = await grant.save();
    log(`interaction ${uid}: consent granted by ${accountId} to ${String(clientId)}`);
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  };
}

// ---------------------------------------------------------------------------
// Programmatic sign-in (HTTP client with a cookie jar)
// ---------------------------------------------------------------------------

class CookieJar {
  readonly #cookies = new Map<string, string>();

  store(setCookies: string[]): void {
    for (const header of setCookies) {
      const [pair = "", ...attributes] = header.split(";");
      const eq = pair.indexOf("=");
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let expired = value === "";
      for (const attribute of attributes) {
        const [key = "", val = ""] = attribute.split("=", 2).map((s) => s.trim());
        if (key.toLowerCase() === "max-age" && Number(val) <= 0) expired = true;
        if (key.toLowerCase() === "expires" && Date.parse(val) <= Date.now()) expired = true;
      }
      if (expired) this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }

  header(): string {
    return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }
}

function formAction(html: string, formId: string): string | undefined {
  const tag = new RegExp(`<form\\b[^>]*\\bid="${formId}"[^>]*>`).exec(html)?.[0];
  const action = tag ? /\baction="([^"]*)"/.exec(tag)?.[1] : undefined;
  return action?.replaceAll("&amp;", "&");
}

function textOf(html: string): string {
  return html
    .replace(/<style[\s\S]*?<\/style>/g, "")
    .replace(/<[^>]+>/g, " ")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, "&")
    .replace(/\s+/g, " ")
    .trim()
    .slice(0, 500);
}

async function programmaticSignIn(
  authorizeUrl: string,
  options: DemoIdpSignInOptions,
  ctx: { issuer: string; idpOrigins: Set<string>; redirectTargets: string[]; defaultUser: DemoIdpUser },
): Promise<string> {
  const jar = new CookieJar();
  const login = options.login ?? ctx.defaultUser.email;
  const password = options.password ?? ctx.defaultUser.password;
  let url = new URL(authorizeUrl, ctx.issuer);
  let body: URLSearchParams | undefined;
  let loginSubmitted = false;
  let consentSubmitted = false;

  if (!ctx.idpOrigins.has(url.origin)) {
    throw new Error(`signIn: expected an authorization URL of the IdP (${ctx.issuer}), got ${url.href}`);
  }
  for (let hop = 0; hop < 25; hop++) {
    if (!ctx.idpOrigins.has(url.origin) || ctx.redirectTargets.includes(`${url.origin}${url.pathname}`)) {
      return url.href;
    }
    const headers: Record<string, string> = { accept: "text/html" };
    const cookie = jar.header();
    if (cookie) headers.cookie = cookie;
    if (body) headers["content-type"] = "application/x-www-form-urlencoded";
    const res = await fetch(url, { method: body ? "POST" : "GET", headers, body, redirect: "manual" });
    jar.store(res.headers.getSetCookie());

    const location = res.headers.get("location");
    if (res.status >= 300 && res.status < 400 && location) {
      await res.body?.cancel();
      url = new URL(location, url);
      body = undefined;
      continue;
    }

    const html = await res.text();
    const loginAction = formAction(html, "login-form");
    const consentAction = formAction(html, "consent-form");
    if (loginAction) {
      if (loginSubmitted) {
        throw new Error(`signIn: the IdP refused the credentials for ${JSON.stringify(login)}`);
      }
      loginSubmitted = true;
      url = new URL(loginAction, url);
      body = new URLSearchParams({ login, password });
    } else if (consentAction) {
      if (consentSubmitted) throw new Error("signIn: consent page shown twice");
      consentSubmitted = true;
      url = new URL(consentAction, url);
      body = new URLSearchParams({ decision: options.deny ? "deny" : "allow" });
    } else {
      throw new Error(`signIn: unexpected HTTP ${res.status} from ${url.href}: ${textOf(html)}`);
    }
  }
  throw new Error("signIn: too many redirects");
}
