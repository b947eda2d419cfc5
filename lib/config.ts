import type { SessionOptions } from "express-session";
import type { CompletePageTemplate } from "./pages/complete-page.js";
import type { Logger } from "./events.js";
import { defaultRandomBytes, type RandomBytes } from "./flow/state.js";
import { safeReturnTo } from "./flow/return-to.js";
import { secretList } from "./crypto/secrets.js";
import { createOAuthHttp, type OAuthHttp } from "./oauth/http.js";
import { OAuthProvider } from "./providers/provider.js";
import { createInProcessRefreshLock, type RefreshLock } from "./refresh/lock.js";
import { createMemoryStore } from "./store/memory.js";
import type { FletAuthStore } from "./store/store.js";

/**
 * Options of the built-in "Remember me": an encrypted HttpOnly cookie that signs a returning
 * browser in again (see docs/remember-me.md).
 *
 * @example
 * fletAuth({ providers, secret, rememberMe: { secretKey: process.env.REMEMBER_ME_KEY!, maxAge: 14 * 24 * 3600_000 } });
 * // then: <a href="/login/github?remember=1">, or req.login("github", { remember: true })
 */
export interface RememberMeOptions {
  /** Secret the cookie is encrypted with; a list rotates keys (encrypt with the first, decrypt with any). */
  readonly secretKey: string | readonly string[];
  /** @default "flet-auth.remember" */
  readonly cookieName?: string;
  /** Cookie lifetime in ms; older cookies are refused even if the browser sends them. @default 30 days */
  readonly maxAge?: number;
}

/**
 * Options of {@link fletAuth}, checked once when it is called: a mistake throws a `TypeError`
 * naming the option and the fix. Only `providers` and `secret` are required. Every option is
 * described in docs/configuration.md.
 *
 * @example
 * fletAuth({
 *   providers: { github, google },
 *   secret: process.env.SESSION_SECRET!, // at least 32 characters
 *   fetchGroups: true,
 *   session: { store: new RedisStore({ client: redis }) },
 * });
 */
export interface FletAuthOptions {
  /** Providers by name; the name is the route key (`/login/github`). */
  readonly providers: Readonly<Record<string, OAuthProvider>>;
  /**
   * Session secret (at least 32 characters; `openssl rand -base64 32`), or a list for rotation,
   * newest first. Required: it signs the session cookie when flet-auth mounts express-session,
   * and seals tokens at rest in the session store — also when the app mounts its own session.
   */
  readonly secret: string | readonly string[];
  /** express-session options used when flet-auth mounts the session (e.g. `{ store }`). */
  readonly session?: Readonly<Omit<SessionOptions, "secret">>;
  /** Fetch the user after sign-in. @default true */
  readonly fetchUser?: boolean;
  /** Fetch the user's groups (needs `fetchUser`). @default false */
  readonly fetchGroups?: boolean;
  /** Extra scopes every login asks for. @default [] */
  readonly scope?: readonly string[];
  /** The page the callback answers when it does not redirect. @default a page that closes the popup */
  readonly completePageHtml?: CompletePageTemplate;
  /**
   * After the callback, redirect to `returnTo` (same-tab flow) instead of answering the complete
   * page. Logins started by the browser helper's popup always get the complete page. @default true
   */
  readonly redirectToPage?: boolean;
  /** Built-in "Remember me": keep the token in an encrypted cookie. @default off */
  readonly rememberMe?: RememberMeOptions;
  /** Where to go after sign-in/out when no `returnTo` was given. @default "/" */
  readonly defaultReturnTo?: string;
  /** Path prefix of the login routes (`<loginPath>/:provider`). @default "/login" */
  readonly loginPath?: string;
  /** Path of the logout route (GET and POST). @default "/logout" */
  readonly logoutPath?: string;
  /** Path prefix of the browser helper and the status endpoint. @default "/flet-auth" */
  readonly assetsPath?: string;
  /**
   * OpenID Connect RP-Initiated Logout by default: after the local sign-out, send the browser to
   * the provider's `end_session_endpoint` (when it has one and the sign-in has an ID token), so
   * the user is signed out there too. `req.logout(name, { idpLogout })` decides per call.
   * @default false
   */
  readonly idpLogout?: boolean;
  /**
   * Where the provider sends the browser back after RP-initiated logout (register
   * `<your origin><postLogoutPath>` as a post-logout redirect URI at the provider).
   * @default `${assetsPath}/logged-out`
   */
  readonly postLogoutPath?: string;
  /** OpenID Connect Back-Channel Logout endpoint (POST, form body parsed by flet-auth). @default "/backchannel_logout" */
  readonly backchannelLogoutPath?: string;
  /**
   * Deadline of every provider call, response body included, in ms; also the longest a request
   * waits for a token refresh (its own, or one another request or instance is running). @default 10000
   */
  readonly timeoutMs?: number;
  /** Refresh tokens expiring within this many milliseconds. @default 60000 (one minute) */
  readonly refreshMarginMs?: number;
  /** How long a started login stays valid, in milliseconds; at most 600000 (RFC 9700 guidance, checklist 5). @default 600000 (ten minutes) */
  readonly loginTimeoutMs?: number;
  /** How flet-auth reaches providers. @default simple-oauth2 + axios */
  readonly http?: OAuthHttp;
  /** Coordinates refreshes; plug a distributed lock here for several processes. @default in-process */
  readonly refreshLock?: RefreshLock;
  /**
   * Where server-side records live that instances must agree on: remember-me series, ended
   * sign-ins, claimed login states — and, when given (or when the session store is
   * express-session's MemoryStore), the sealed sign-in records themselves, so that the session
   * keeps only their ids and a signed-in request costs what a small session costs. Use
   * `createRedisStore(client)` with several instances.
   * @default an in-memory store (one process)
   */
  readonly store?: FletAuthStore;
  /**
   * Deadline of each session-store operation flet-auth starts (load, save, regenerate): a store
   * that hangs answers 503 `session_unavailable` after this long instead of holding the request.
   * @default 3000
   */
  readonly storeTimeoutMs?: number;
  /**
   * A sign-in not used for this long reads as signed out (`logout` with reason `idle_timeout`).
   * Measured coarsely (to 1/24 of the value, at most an hour) so reads do not rewrite the session.
   * `Infinity` turns the limit off.
   * @default 86400000 (one day)
   */
  readonly idleTimeoutMs?: number;
  /**
   * A sign-in older than this reads as signed out (`logout` with reason `absolute_timeout`),
   * however active; refreshes never extend it. Remember-me can then sign the browser in again.
   * `Infinity` turns the limit off.
   * @default 604800000 (seven days)
   */
  readonly absoluteTimeoutMs?: number;
  /** Milliseconds clock. @default Date.now */
  readonly clock?: () => number;
  /** Randomness for state and PKCE. @default crypto.randomBytes */
  readonly randomBytes?: RandomBytes;
  /** Where warnings and listener errors go. @default console */
  readonly logger?: Logger;
  /** Sent as User-Agent to providers. @default "flet-auth" */
  readonly userAgent?: string;
}

/** Validated, defaulted, frozen options. */
export interface FletAuthConfig {
  readonly providers: ReadonlyMap<string, OAuthProvider>;
  readonly secrets: readonly string[];
  readonly session: Readonly<Omit<SessionOptions, "secret">>;
  readonly fetchUser: boolean;
  readonly fetchGroups: boolean;
  readonly scope: readonly string[];
  readonly completePageHtml: CompletePageTemplate | undefined;
  readonly redirectToPage: boolean;
  readonly rememberMe: { readonly secrets: readonly string[]; readonly cookieName: string; readonly maxAgeMs: number } | undefined;
  readonly defaultReturnTo: string;
  readonly loginPath: string;
  readonly logoutPath: string;
  readonly assetsPath: string;
  readonly idpLogout: boolean;
  readonly postLogoutPath: string;
  readonly backchannelLogoutPath: string;
  readonly refreshMarginMs: number;
  readonly loginTimeoutMs: number;
  /** How long a request waits for a provider (and for a refresh another request or instance runs). */
  readonly timeoutMs: number;
  readonly http: OAuthHttp;
  readonly refreshLock: RefreshLock;
  readonly store: FletAuthStore;
  /**
   * Whether the app chose `store`: sign-in records then live there (lib/signin/stored.ts). The
   * in-memory default holds them only while sessions are as process-local as it is.
   */
  readonly storeGiven: boolean;
  readonly storeTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly absoluteTimeoutMs: number;
  readonly clock: () => number;
  readonly randomBytes: RandomBytes;
  readonly logger: Logger;
}

const KNOWN_OPTIONS = [
  "providers", "secret", "session", "fetchUser", "fetchGroups", "scope", "completePageHtml", "redirectToPage",
  "rememberMe", "defaultReturnTo", "loginPath", "logoutPath", "assetsPath", "idpLogout", "postLogoutPath", "backchannelLogoutPath", "timeoutMs", "refreshMarginMs",
  "loginTimeoutMs", "http", "refreshLock", "store", "storeTimeoutMs", "idleTimeoutMs", "absoluteTimeoutMs", "clock", "randomBytes", "logger", "userAgent",
] as const;

/** Secrets shorter than this are refused (checklist 32); generate one with `openssl rand -base64 32`. */
const MIN_SECRET_LENGTH = 32;

/** Validates `options` once, at `fletAuth()` time; every TypeError names the option and the fix. */
export function resolveConfig(options: FletAuthOptions): FletAuthConfig {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new TypeError("fletAuth(options): options must be an object, e.g. fletAuth({ providers: { github }, secret })");
  }
  if ("method" in options && "headers" in options && "url" in options) {
    throw new TypeError("fletAuth must be called: use app.use(fletAuth({ ... })), not app.use(fletAuth)");
  }
  for (const key of Object.keys(options)) {
    if (!(KNOWN_OPTIONS as readonly string[]).includes(key)) {
      const hint = closest(key, KNOWN_OPTIONS);
      throw new TypeError(`options.${key} is not a fletAuth option${hint ? ` — did you mean "${hint}"?` : ""}`);
    }
  }
  const providers = resolveProviders(options.providers);
  if (options.secret === undefined) {
    throw new TypeError(
      "options.secret is required: it signs the session cookie and seals tokens at rest, even when the app mounts express-session itself; pass a secret of at least 32 characters, e.g. one made with: openssl rand -base64 32",
    );
  }
  const secrets = secretList("options.secret", options.secret, MIN_SECRET_LENGTH);
  if (options.session !== undefined && (typeof options.session !== "object" || options.session === null)) {
    throw new TypeError("options.session must be an object of express-session options, e.g. { store }");
  }
  if (options.session && "secret" in options.session) {
    throw new TypeError("options.session.secret is not used: pass the secret as options.secret");
  }
  const timeoutMs = number("options.timeoutMs", options.timeoutMs, 10_000, 1, 120_000);
  const assetsPath = routePath("options.assetsPath", options.assetsPath, "/flet-auth");
  return Object.freeze({
    providers,
    secrets,
    session: Object.freeze({ ...(options.session ?? {}) }),
    fetchUser: bool("options.fetchUser", options.fetchUser, true),
    fetchGroups: bool("options.fetchGroups", options.fetchGroups, false),
    scope: scopeList("options.scope", options.scope),
    completePageHtml: completePage("options.completePageHtml", options.completePageHtml),
    redirectToPage: bool("options.redirectToPage", options.redirectToPage, true),
    rememberMe: rememberMe(options.rememberMe),
    defaultReturnTo: defaultReturnTo(options.defaultReturnTo),
    loginPath: routePath("options.loginPath", options.loginPath, "/login"),
    logoutPath: routePath("options.logoutPath", options.logoutPath, "/logout"),
    assetsPath,
    idpLogout: bool("options.idpLogout", options.idpLogout, false),
    postLogoutPath: routePath("options.postLogoutPath", options.postLogoutPath, `${assetsPath}/logged-out`),
    backchannelLogoutPath: routePath("options.backchannelLogoutPath", options.backchannelLogoutPath, "/backchannel_logout"),
    refreshMarginMs: number("options.refreshMarginMs", options.refreshMarginMs, 60_000, 0, 86_400_000),
    loginTimeoutMs: number("options.loginTimeoutMs", options.loginTimeoutMs, 600_000, 1_000, 600_000),
    timeoutMs,
    http: implementation("options.http", options.http, ["exchangeCode", "refresh", "getJson"]) ?? createOAuthHttp({
      timeoutMs,
      userAgent: userAgent(options.userAgent),
    }),
    refreshLock:
      implementation("options.refreshLock", options.refreshLock, ["run"]) ??
      createInProcessRefreshLock(options.clock ? { clock: options.clock } : {}),
    store:
      implementation("options.store", options.store, ["getMany", "set", "swap", "delete"]) ??
      createMemoryStore(options.clock ? { clock: options.clock } : {}),
    storeGiven: options.store !== undefined,
    storeTimeoutMs: number("options.storeTimeoutMs", options.storeTimeoutMs, 3_000, 1, 60_000),
    idleTimeoutMs: lifetime("options.idleTimeoutMs", options.idleTimeoutMs, 86_400_000),
    absoluteTimeoutMs: lifetime("options.absoluteTimeoutMs", options.absoluteTimeoutMs, 7 * 86_400_000),
    clock: fn("options.clock", options.clock) ?? Date.now,
    randomBytes: fn("options.randomBytes", options.randomBytes) ?? defaultRandomBytes,
    logger: implementation("options.logger", options.logger, ["warn", "error"]) ?? console,
  });
}

function resolveProviders(value: unknown): ReadonlyMap<string, OAuthProvider> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TypeError("options.providers must be an object of providers by name, e.g. { github: new GitHubOAuthProvider({ ... }) }");
  }
  const entries = Object.entries(value);
  if (entries.length === 0) throw new TypeError("options.providers must name at least one provider");
  for (const [name, provider] of entries) {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) {
      throw new TypeError(`options.providers: the name "${name}" is used in URLs; use letters, digits, "-" or "_"`);
    }
    if (!(provider instanceof OAuthProvider)) {
      throw new TypeError(`options.providers.${name} must be an OAuthProvider (e.g. new GitHubOAuthProvider({ ... }))`);
    }
  }
  return new Map(entries as Array<[string, OAuthProvider]>);
}

function rememberMe(value: RememberMeOptions | undefined): FletAuthConfig["rememberMe"] {
  if (value === undefined) return undefined;
  if (typeof value !== "object" || value === null) {
    throw new TypeError("options.rememberMe must be an object such as { secretKey: process.env.REMEMBER_ME_KEY }");
  }
  const cookieName = value.cookieName ?? "flet-auth.remember";
  if (typeof cookieName !== "string" || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(cookieName)) {
    throw new TypeError("options.rememberMe.cookieName must be a valid cookie name (RFC 6265 token)");
  }
  const maxAgeMs = number("options.rememberMe.maxAge", value.maxAge, 30 * 86_400_000, 60_000, 400 * 86_400_000);
  return Object.freeze({ secrets: secretList("options.rememberMe.secretKey", value.secretKey, MIN_SECRET_LENGTH), cookieName, maxAgeMs });
}

function defaultReturnTo(value: unknown): string {
  if (value === undefined) return "/";
  const safe = safeReturnTo(value);
  if (safe === undefined) throw new TypeError('options.defaultReturnTo must be a relative path such as "/" or "/home"');
  return safe;
}

function routePath(path: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== "string" || !/^\/[A-Za-z0-9._~\-/]*$/.test(value) || value.endsWith("/")) {
    throw new TypeError(`${path} must be a path such as "${fallback}" (leading "/", no trailing "/")`);
  }
  return value;
}

function bool(path: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") throw new TypeError(`${path} must be true or false`);
  return value;
}

function number(path: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) {
    throw new TypeError(`${path} must be a number from ${min} to ${max}`);
  }
  return value;
}

/** A sign-in lifetime: at least a minute, or `Infinity` for none (the session cookie's life then bounds it). */
function lifetime(path: string, value: unknown, fallback: number): number {
  if (value === Number.POSITIVE_INFINITY) return value;
  return number(path, value, fallback, 60_000, 400 * 86_400_000);
}

/** Validates a list of scopes (login option or factory option). */
export function scopeList(path: string, value: unknown): readonly string[] {
  if (value === undefined) return Object.freeze([]);
  if (!Array.isArray(value) || !value.every((s) => typeof s === "string" && s !== "" && !/\s/.test(s))) {
    throw new TypeError(`${path} must be an array of scope strings without spaces, e.g. ["public_repo"]`);
  }
  return Object.freeze([...value]);
}

/** Validates a complete-page template (factory or login option). */
export function completePage(path: string, value: unknown): CompletePageTemplate | undefined {
  if (value === undefined || typeof value === "string" || typeof value === "function") {
    return value as CompletePageTemplate | undefined;
  }
  throw new TypeError(`${path} must be an HTML string or a function (outcome) => html`);
}

/** An object with the given methods (an injected dependency), or undefined for the default. */
function implementation<T>(path: string, value: T | undefined, methods: readonly string[]): T | undefined {
  if (value === undefined) return undefined;
  const missing = methods.filter((m) => typeof (value as Record<string, unknown> | null)?.[m] !== "function");
  if (typeof value !== "object" || value === null || missing.length > 0) {
    throw new TypeError(`${path} must be an object with ${methods.map((m) => `${m}()`).join(", ")}${missing.length ? ` (missing ${missing.join(", ")})` : ""}`);
  }
  return value;
}

function userAgent(value: unknown): string {
  if (value === undefined) return "flet-auth";
  if (typeof value !== "string" || value === "" || !/^[\x20-\x7e]+$/.test(value)) {
    throw new TypeError('options.userAgent must be a non-empty printable ASCII string, e.g. "my-app/1.0"');
  }
  return value;
}

function fn<T>(path: string, value: T | undefined): T | undefined {
  if (value !== undefined && typeof value !== "function") throw new TypeError(`${path} must be a function`);
  return value;
}

/** The known name closest to `input` (Levenshtein ≤ 3), for "did you mean" hints. */
function closest(input: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 4;
  for (const candidate of known) {
    const d = distance(input.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i += 1) {
    let prev = i - 1;
    row[0] = i;
    for (let j = 1; j <= b.length; j += 1) {
      const tmp = row[j] ?? 0;
      row[j] = Math.min((row[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length] ?? 0;
}
