/**
 * A real OpenID provider for the OpenID Connect suite (test/e2e/oidc*.test.ts): panva's
 * `oidc-provider` 9 in-process on loopback, set up for what examples/demo/idp.ts does not do —
 * RFC 7009 revocation, back-channel logout, registered post-logout redirect URIs, signing keys the
 * test holds (to sign tokens "as the provider") and can rotate during a run.
 *
 * - Issuer `http://127.0.0.1:<port>`; code flow with PKCE S256; confidential clients
 *   (`client_secret_post` / `client_secret_basic`); a refresh token on every code exchange, NOT
 *   rotated on use (so a test can use one, then see it die only because it was revoked).
 * - ID tokens carry only `sub` and protocol claims (oidc-provider's `conformIdTokenClaims`): the
 *   profile is at userinfo, so a user with `email` came from userinfo.
 * - Login and consent pages with the element ids of the demo IdP (`#login`, `#password`,
 *   `button#sign-in`, `button#allow`, `button#deny`), so test/helpers/browser-idp.ts drives them;
 *   the logout confirmation has `button#logout-yes`.
 * - `rotateSigningKey()` starts a new provider instance on the same port, storage and cookie keys,
 *   whose JWKS is `[new, old]` (oidc-provider signs with the first matching key).
 * - Outgoing requests (back-channel logout) may go to loopback: oidc-provider's SSRF guard
 *   (its undici dispatcher) is dropped, for tests only.
 *
 * It implements {@link DemoIdp}, so helpers written for the demo IdP take it as is.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { EventEmitter, once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, exportSPKI, generateKeyPair, type CryptoKey, type JWK } from "jose";
import type { DemoIdp, DemoIdpGrantType, DemoIdpSignInOptions, DemoIdpUser } from "../../examples/demo/idp.js";

export interface OpClient {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly redirectUris: readonly string[];
  readonly postLogoutRedirectUris?: readonly string[];
  /** Back-Channel Logout 1.0 `backchannel_logout_uri`; with it, ID and logout tokens carry `sid`. */
  readonly backchannelLogoutUri?: string;
}

export interface OidcOpOptions {
  readonly clients: readonly OpClient[];
  /** Access-token lifetime, seconds. @default 3600 */
  readonly accessTokenTtl?: number;
}

/** A signing key of the provider: its private key (to sign "as the provider") and public JWK. */
export interface OpSigningKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
  /** The public key as SPKI PEM (what an attacker would use as an HMAC secret). */
  readonly publicPem: string;
}

/** One browser at the provider, without a browser: a cookie jar that signs in and signs out. */
export interface OpUserAgent {
  /** Follows the authorize URL, signs in, consents; resolves with the redirect to the client (code & state). */
  signIn(authorizeUrl: string, options?: DemoIdpSignInOptions): Promise<string>;
  /** Ends this browser's session at the provider (end_session, "Yes, sign me out"); resolves once the provider answered. */
  endSession(): Promise<void>;
}

export interface OidcOp extends DemoIdp {
  readonly jwksUri: string;
  readonly revocationEndpoint: string;
  readonly discoveryUrl: string;
  readonly user: Readonly<DemoIdpUser>;
  /** The key new tokens are signed with. */
  signingKey(): OpSigningKey;
  /** Publishes a new key first in the JWKS and signs with it from now on (the old key stays published). */
  rotateSigningKey(): Promise<OpSigningKey>;
  /** A new cookie jar at the provider. */
  userAgent(): OpUserAgent;
  /** oidc-provider's events (`backchannel.success`, `backchannel.error`, `end_session.success`, …), of every instance. */
  readonly events: EventEmitter;
  /** Lines oidc-provider reported (errors), for failure messages. */
  readonly log: readonly string[];
}

export const OP_USER: Readonly<DemoIdpUser> = Object.freeze({
  id: "oidc-user-1",
  name: "Ada Lovelace",
  email: "ada@example.com",
  password: "analytical-engine",
  groups: ["engines"],
});

// ---------------------------------------------------------------------------
// Minimal typings of the parts of oidc-provider used here (it ships no declarations).
// ---------------------------------------------------------------------------

interface InteractionDetails {
  uid: string;
  prompt: { name: string; details: { missingOIDCScope?: string[]; missingOIDCClaims?: string[] } };
  params: Record<string, unknown>;
  session?: { accountId: string };
  grantId?: string;
}

interface GrantLike {
  addOIDCScope(scope: string): void;
  addOIDCClaims(claims: string[]): void;
  save(): Promise<string>;
}

interface ProviderLike {
  readonly Client: { find(id: string): Promise<unknown> };
  readonly Grant: { new (init: { accountId: string; clientId: string }): GrantLike; find(id: string): Promise<GrantLike | undefined> };
  callback(): (req: IncomingMessage, res: ServerResponse) => unknown;
  interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<InteractionDetails>;
  interactionFinished(req: IncomingMessage, res: ServerResponse, result: Record<string, unknown>, options?: { mergeWithLastSubmission?: boolean }): Promise<void>;
  urlFor(name: string): string;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
}

type ProviderConstructor = new (issuer: string, configuration: Record<string, unknown>) => ProviderLike;

let providerModule: Promise<ProviderConstructor> | undefined;

/** Imports oidc-provider once; its Node < 22 "unsupported runtime" notice is dropped. */
function loadProvider(): Promise<ProviderConstructor> {
  providerModule ??= (async () => {
    const { warn } = console;
    console.warn = (...args: unknown[]): void => {
      if (!String(args[0]).includes("oidc-provider")) warn.apply(console, args);
    };
    try {
      const specifier = "oidc-provider"; // non-literal: no (absent) type declarations looked up
      return ((await import(specifier)) as { default: ProviderConstructor }).default;
    } finally {
      console.warn = warn;
    }
  })();
  return providerModule;
}

// ---------------------------------------------------------------------------
// Keys, storage
// ---------------------------------------------------------------------------

async function newSigningKey(): Promise<OpSigningKey & { readonly privateJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
  const kid = randomBytes(6).toString("hex");
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: "RS256", use: "sig" };
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" };
  return { kid, privateKey, publicJwk, privateJwk, publicPem: await exportSPKI(publicKey) };
}

interface Entry {
  payload: Record<string, unknown>;
  expiresAt: number;
}

/** oidc-provider's adapter on a Map, shared by the instances that rotation creates. */
function memoryAdapter(): (model: string) => object {
  const store = new Map<string, Entry>();
  const byUid = new Map<string, string>();
  const live = (key: string): Entry | undefined => {
    const entry = store.get(key);
    if (entry !== undefined && entry.expiresAt <= Date.now()) store.delete(key);
    return store.get(key);
  };
  return (model) => {
    const key = (id: string): string => `${model}:${id}`;
    const find = async (id: string | undefined): Promise<Record<string, unknown> | undefined> => {
      const entry = id === undefined ? undefined : live(key(id));
      return entry ? structuredClone(entry.payload) : undefined;
    };
    return {
      async upsert(id: string, payload: Record<string, unknown>, expiresIn?: number) {
        store.set(key(id), { payload: structuredClone(payload), expiresAt: typeof expiresIn === "number" ? Date.now() + expiresIn * 1000 : Infinity });
        if (model === "Session" && typeof payload["uid"] === "string") byUid.set(payload["uid"], id);
      },
      find,
      findByUid: async (uid: string) => find(byUid.get(uid)),
      findByUserCode: async () => undefined,
      async consume(id: string) {
        const entry = live(key(id));
        if (entry) entry.payload["consumed"] = Math.floor(Date.now() / 1000);
      },
      async destroy(id: string) {
        store.delete(key(id));
      },
      async revokeByGrantId(grantId: string) {
        for (const [k, entry] of store) if (k.startsWith(`${model}:`) && entry.payload["grantId"] === grantId) store.delete(k);
      },
    };
  };
}

// ---------------------------------------------------------------------------
// Pages
// ---------------------------------------------------------------------------

const escape = (value: unknown): string =>
  String(value).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c);

const page = (title: string, body: string): string =>
  `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)} · OIDC test OP</title></head><body><main>${body}</main></body></html>`;

function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store", "content-security-policy": "default-src 'none'; frame-ancestors 'none'" });
  res.end(html);
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
}

function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(createHash("sha256").update(a).digest(), createHash("sha256").update(b).digest());
}

/** GET /interaction/:uid, POST /interaction/:uid/login, POST /interaction/:uid/consent. */
async function interaction(provider: ProviderLike, user: DemoIdpUser, req: IncomingMessage, res: ServerResponse, uid: string, action: string | undefined): Promise<void> {
  const details = await provider.interactionDetails(req, res).catch(() => undefined);
  if (details === undefined || details.uid !== uid) return sendHtml(res, 400, page("Expired", "<h1>This sign-in request has expired</h1>"));
  const prompt = details.prompt.name;
  if (action === undefined) {
    if (prompt === "login") {
      return sendHtml(
        res,
        200,
        page(
          "Sign in",
          `<h1>Sign in</h1><form id="login-form" method="post" action="/interaction/${escape(uid)}/login">
<label for="login">Email</label><input id="login" name="login" type="text" required>
<label for="password">Password</label><input id="password" name="password" type="password" required>
<button id="sign-in" type="submit">Sign in</button></form>`,
        ),
      );
    }
    return sendHtml(
      res,
      200,
      page(
        "Authorize",
        `<h1>Authorize ${escape(details.params["client_id"])}</h1><form id="consent-form" method="post" action="/interaction/${escape(uid)}/consent">
<button id="allow" type="submit" name="decision" value="allow">Allow</button>
<button id="deny" type="submit" name="decision" value="deny">Deny</button></form>`,
      ),
    );
  }
  const form = await readForm(req);
  if (action === "login" && prompt === "login") {
    const login = (form.get("login") ?? "").trim();
    const ok = (login === user.email || login === user.id) && sameSecret(form.get("password") ?? "", user.password);
    if (!ok) return sendHtml(res, 200, page("Sign in", `<p id="login-error">Invalid email or password.</p>`));
    return provider.interactionFinished(req, res, { login: { accountId: user.id } }, { mergeWithLastSubmission: false });
  }
  if (action === "consent" && prompt === "consent") {
    const accountId = details.session?.accountId;
    if (form.get("decision") !== "allow" || accountId === undefined) {
      return provider.interactionFinished(req, res, { error: "access_denied", error_description: "End-User denied the request" }, { mergeWithLastSubmission: false });
    }
    const clientId = String(details.params["client_id"]);
    const grant = (details.grantId ? await provider.Grant.find(details.grantId) : undefined) ?? new provider.Grant({ accountId, clientId });
    if (details.prompt.details.missingOIDCScope) grant.addOIDCScope(details.prompt.details.missingOIDCScope.join(" "));
    if (details.prompt.details.missingOIDCClaims) grant.addOIDCClaims(details.prompt.details.missingOIDCClaims);
    return provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
  }
  sendHtml(res, 400, page("Unexpected", "<h1>Unexpected step</h1>"));
}

// ---------------------------------------------------------------------------
// The provider
// ---------------------------------------------------------------------------

function configuration(options: OidcOpOptions, user: DemoIdpUser, keys: readonly JWK[], adapter: (model: string) => object, cookieKeys: string[]): Record<string, unknown> {
  return {
    adapter,
    jwks: { keys },
    cookies: { keys: cookieKeys },
    clients: options.clients.map((c) => ({
      client_id: c.clientId,
      client_secret: c.clientSecret,
      redirect_uris: [...c.redirectUris],
      ...(c.postLogoutRedirectUris ? { post_logout_redirect_uris: [...c.postLogoutRedirectUris] } : {}),
      ...(c.backchannelLogoutUri ? { backchannel_logout_uri: c.backchannelLogoutUri, backchannel_logout_session_required: true } : {}),
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_post",
    })),
    responseTypes: ["code"],
    clientAuthMethods: ["client_secret_post", "client_secret_basic"],
    claims: { openid: ["sub"], profile: ["name", "groups"], email: ["email", "email_verified"] },
    async findAccount(_ctx: unknown, sub: string) {
      if (sub !== user.id) return undefined;
      return {
        accountId: user.id,
        claims: async () => ({ sub: user.id, name: user.name, email: user.email, email_verified: true, groups: [...(user.groups ?? [])] }),
      };
    },
    pkce: { required: () => true },
    issueRefreshToken: async (_ctx: unknown, client: { grantTypeAllowed(type: string): boolean }) => client.grantTypeAllowed("refresh_token"),
    rotateRefreshToken: false,
    ttl: { AccessToken: options.accessTokenTtl ?? 3600, AuthorizationCode: 60, IdToken: 3600, RefreshToken: 86_400, Grant: 86_400, Session: 86_400, Interaction: 900 },
    features: {
      devInteractions: { enabled: false },
      // A client revokes its own tokens only (oidc-provider's default, without its "change me" notice).
      revocation: { enabled: true, allowedPolicy: async (_ctx: unknown, client: { clientId: string }, token: { clientId?: string }) => token.clientId === client.clientId },
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx: { body?: unknown; type?: string }, form: string) {
          ctx.type = "html";
          ctx.body = page(
            "Sign out",
            `<h1>Sign out of the OP?</h1>${form}<button id="logout-yes" type="submit" form="op.logoutForm" name="logout" value="yes">Yes, sign me out</button>`,
          );
        },
        async postLogoutSuccessSource(ctx: { body?: unknown; type?: string }) {
          ctx.type = "html";
          ctx.body = page("Signed out", `<h1 id="op-signed-out">Signed out of the OP</h1>`);
        },
      },
    },
    interactions: { url: (_ctx: unknown, i: { uid: string }) => `/interaction/${i.uid}` },
    // Tests only: back-channel logout goes to loopback, which oidc-provider's SSRF guard refuses.
    fetch: (url: string | URL, init: RequestInit & { dispatcher?: unknown }) => {
      const { dispatcher: _guard, ...rest } = init;
      void _guard;
      return fetch(url, rest);
    },
    clientBasedCORS: () => false,
    async renderError(ctx: { body?: unknown; type?: string }, out: Record<string, unknown>) {
      ctx.type = "html";
      ctx.body = page("Error", `<div id="error">${Object.entries(out).map(([k, v]) => `<p data-key="${escape(k)}">${escape(v)}</p>`).join("")}</div>`);
    },
  };
}

export async function startOidcOp(options: OidcOpOptions): Promise<OidcOp> {
  const Provider = await loadProvider();
  const user: DemoIdpUser = { ...OP_USER, groups: [...(OP_USER.groups ?? [])] };
  const events = new EventEmitter();
  const log: string[] = [];
  const counts: Record<DemoIdpGrantType, { success: number; error: number }> = {
    authorization_code: { success: 0, error: 0 },
    refresh_token: { success: 0, error: 0 },
  };
  const adapter = memoryAdapter();
  const cookieKeys = [randomBytes(32).toString("base64url")];
  const keys = [await newSigningKey()];

  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const server: Server = createServer((req, res) => (handler ? handler(req, res) : sendHtml(res, 503, page("Starting", "starting"))));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as AddressInfo).port;
  const issuer = `http://127.0.0.1:${port}`;

  const instantiate = async (): Promise<ProviderLike> => {
    const provider = new Provider(issuer, configuration(options, user, keys.map((k) => k.privateJwk), adapter, cookieKeys));
    await Promise.all(options.clients.map((c) => provider.Client.find(c.clientId)));
    const count = (ctx: unknown, field: "success" | "error"): void => {
      const type = (ctx as { oidc?: { params?: Record<string, unknown> } } | undefined)?.oidc?.params?.["grant_type"];
      if (type === "authorization_code" || type === "refresh_token") counts[type][field] += 1;
    };
    provider.on("grant.success", (ctx) => count(ctx, "success"));
    provider.on("grant.error", (ctx, err) => {
      count(ctx, "error");
      log.push(`grant.error: ${String(err)}`);
    });
    for (const name of ["backchannel.success", "backchannel.error", "end_session.success", "revocation.error", "server_error"]) {
      provider.on(name, (...args) => {
        if (name.endsWith("error")) log.push(`${name}: ${String(args[1])}`);
        events.emit(name, ...args);
      });
    }
    provider.on("error", (err) => log.push(`koa error: ${String(err)}`));
    const callback = provider.callback();
    handler = (req, res) => {
      const match = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|consent))?$/.exec((req.url ?? "/").split("?", 1)[0] ?? "/");
      if (match === null) return void callback(req, res);
      interaction(provider, user, req, res, match[1] ?? "", match[2]).catch((err: unknown) => {
        log.push(`interaction: ${String(err)}`);
        if (!res.headersSent) sendHtml(res, 500, page("Error", "interaction failed"));
        else res.end();
      });
    };
    return provider;
  };
  const provider = await instantiate();

  const endpoints = {
    authorizationEndpoint: provider.urlFor("authorization"),
    tokenEndpoint: provider.urlFor("token"),
    userinfoEndpoint: provider.urlFor("userinfo"),
    endSessionEndpoint: provider.urlFor("end_session"),
    revocationEndpoint: provider.urlFor("revocation"),
    jwksUri: provider.urlFor("jwks"),
  };
  const redirectTargets = options.clients.flatMap((c) => [...c.redirectUris, ...(c.postLogoutRedirectUris ?? [])]).map((u) => {
    const url = new URL(u);
    return `${url.origin}${url.pathname}`;
  });
  const userAgent = (): OpUserAgent => new JarUserAgent(issuer, endpoints.endSessionEndpoint, user, redirectTargets);
  let closed: Promise<void> | undefined;
  return {
    issuer,
    port,
    ...endpoints,
    discoveryUrl: `${issuer}/.well-known/openid-configuration`,
    users: [user],
    user,
    events,
    log,
    grants: (type) => ({ ...counts[type] }),
    signIn: (authorizeUrl, signInOptions) => userAgent().signIn(authorizeUrl, signInOptions),
    userAgent,
    signingKey: () => keys[0] as OpSigningKey,
    async rotateSigningKey() {
      keys.unshift(await newSigningKey());
      await instantiate();
      return keys[0] as OpSigningKey;
    },
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

// ---------------------------------------------------------------------------
// A browser without a browser
// ---------------------------------------------------------------------------

class JarUserAgent implements OpUserAgent {
  readonly #cookies = new Map<string, string>();
  readonly #issuer: string;
  readonly #endSession: string;
  readonly #user: DemoIdpUser;
  readonly #targets: readonly string[];

  constructor(issuer: string, endSession: string, user: DemoIdpUser, targets: readonly string[]) {
    this.#issuer = issuer;
    this.#endSession = endSession;
    this.#user = user;
    this.#targets = targets;
  }

  async #request(url: URL, form?: URLSearchParams): Promise<{ status: number; location: string | null; html: string }> {
    const headers: Record<string, string> = { accept: "text/html" };
    const cookie = [...this.#cookies].map(([k, v]) => `${k}=${v}`).join("; ");
    if (cookie !== "") headers["cookie"] = cookie;
    if (form) headers["content-type"] = "application/x-www-form-urlencoded";
    const res = await fetch(url, { method: form ? "POST" : "GET", headers, body: form, redirect: "manual" });
    for (const header of res.headers.getSetCookie()) {
      const [pair = "", ...attributes] = header.split(";");
      const eq = pair.indexOf("=");
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = value === "" || attributes.some((a) => /^\s*expires=/i.test(a) && Date.parse(a.split("=")[1] ?? "") <= Date.now());
      if (expired) this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
    return { status: res.status, location: res.headers.get("location"), html: await res.text() };
  }

  async signIn(authorizeUrl: string, options: DemoIdpSignInOptions = {}): Promise<string> {
    let url = new URL(authorizeUrl);
    let form: URLSearchParams | undefined;
    for (let hop = 0; hop < 20; hop++) {
      if (url.origin !== this.#issuer || this.#targets.includes(`${url.origin}${url.pathname}`)) return url.href;
      const res = await this.#request(url, form);
      form = undefined;
      if (res.location !== null && res.status >= 300 && res.status < 400) {
        url = new URL(res.location, url);
        continue;
      }
      const action = /<form id="(login-form|consent-form)" method="post" action="([^"]+)"/.exec(res.html);
      if (action === null) throw new Error(`OP sign-in: HTTP ${res.status} at ${url.href}: ${res.html.replace(/<[^>]+>/g, " ").slice(0, 300)}`);
      url = new URL((action[2] ?? "").replaceAll("&amp;", "&"), url);
      form =
        action[1] === "login-form"
          ? new URLSearchParams({ login: options.login ?? this.#user.email, password: options.password ?? this.#user.password })
          : new URLSearchParams({ decision: options.deny ? "deny" : "allow" });
    }
    throw new Error("OP sign-in: too many redirects");
  }

  async endSession(): Promise<void> {
    const prompt = await this.#request(new URL(this.#endSession));
    const action = /<form id="op\.logoutForm" method="post" action="([^"]+)"><input type="hidden" name="xsrf" value="([^"]+)"\/>/.exec(prompt.html);
    if (action === null) throw new Error(`OP end_session: no logout form (HTTP ${prompt.status}): ${prompt.html.slice(0, 300)}`);
    const done = await this.#request(new URL(action[1] ?? "", this.#issuer), new URLSearchParams({ xsrf: action[2] ?? "", logout: "yes" }));
    if (done.status !== 303 && done.status !== 302) throw new Error(`OP end_session confirm answered HTTP ${done.status}`);
  }
}
