import { EventEmitter } from "node:events";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import { resolveConfig, type FletAuthOptions } from "./config.js";
import { hkdfKey } from "./crypto/keys.js";
import { createSealer } from "./crypto/sealer.js";
import type { FletAuthEvents } from "./events.js";
import { createClaimedStates } from "./flow/claimed-states.js";
import { handleBackchannelLogout, handlePostLogout } from "./oidc/logout.js";
import { createPageRegistry } from "./pages/registry.js";
import { createRememberMe } from "./remember-me/cookie.js";
import { restoreRemembered } from "./remember-me/restore.js";
import { handleCallback } from "./routes/callback.js";
import { handleClientScript } from "./routes/client-script.js";
import { handleLoginRoute } from "./routes/login.js";
import { handleLogoutRoute } from "./routes/logout.js";
import { handleStatus } from "./routes/status.js";
import type { Runtime } from "./runtime.js";
import { lazySessionMiddleware, loadSession, STORE_DEADLINE } from "./session/session.js";
import type { Authorization } from "./signin/authorization.js";
import { requestMethods } from "./signin/request-methods.js";
import { createRecordCache } from "./signin/records.js";
import { createEndedKeyCache } from "./signin/stored.js";
import { setRequestAuth } from "./signin/request-auth.js";
import { createDeadlineQueue } from "./util/deadline-queue.js";
import { useHashedProperties } from "./util/hashed-properties.js";

/**
 * The middleware `fletAuth()` returns: an Express handler that is also a typed event emitter.
 * It only listens: flet-auth alone emits, so app code cannot forge a `login` or `logout`.
 *
 * @example
 * const auth = fletAuth({ providers: { github }, secret });
 * app.use(auth);
 * auth.on("login", (e) => console.log(e.error ?? `signed in: ${e.auth!.user!.id}`));
 * auth.once("logout", (e) => console.log("first sign-out:", e.provider, e.reason));
 */
export interface FletAuthMiddleware extends RequestHandler {
  /** Calls `listener` on every `event` (see {@link FletAuthEvents}); a listener that throws or rejects is logged, never fails the request. */
  on<K extends keyof FletAuthEvents>(event: K, listener: (e: FletAuthEvents[K]) => unknown): this;
  /** Like {@link FletAuthMiddleware.on}, for the next `event` only. */
  once<K extends keyof FletAuthEvents>(event: K, listener: (e: FletAuthEvents[K]) => unknown): this;
  /** Removes a listener added with `on` or `once`. */
  off<K extends keyof FletAuthEvents>(event: K, listener: (e: FletAuthEvents[K]) => unknown): this;
  /** Removes every listener of `event`, or of every event. */
  removeAllListeners(event?: keyof FletAuthEvents): this;
  /** How many listeners `event` has. */
  listenerCount(event: keyof FletAuthEvents): number;
}

/**
 * Flet's "Login with X" for Express. Mounts `GET /login/:provider`, each provider's callback (the
 * path of its `redirectUrl`), `GET|POST /logout`, and sets `req.auth`, `req.authorizations`,
 * `req.login()` and `req.logout()` on every request. Options are validated here, once.
 *
 * @example
 * const auth = fletAuth({ providers: { github }, secret: process.env.SESSION_SECRET! });
 * app.use(auth);
 * auth.on("login", (e) => { if (!e.error) console.log("signed in", e.auth!.user!.id); });
 */
export function fletAuth(options: FletAuthOptions): FletAuthMiddleware {
  const config = resolveConfig(options);
  const emitter = new EventEmitter();
  const rt: Runtime = {
    config,
    emitter,
    // The session secret is a machine secret (≥ 32 characters, checked), so HKDF (RFC 5869) is
    // the right derivation: instant, unlike PBKDF2, which stretches human passphrases.
    tokens: createSealer(config.secrets, "session-token", { now: config.clock, derive: hkdfKey }),
    rememberMe: config.rememberMe ? createRememberMe(config.rememberMe, config.clock, config.logger) : undefined,
    claimedStates: createClaimedStates(),
    records: createRecordCache(),
    endedKeys: createEndedKeyCache(),
    warnedShortLived: new Set(),
    keySets: new Map(),
    warnedOrigins: new Set(),
    pages: createPageRegistry(config.loginTimeoutMs, () => Buffer.from(config.randomBytes(16)).toString("base64url")),
    ownSession: lazySessionMiddleware(config),
    storeDeadlines: createDeadlineQueue(config.storeTimeoutMs),
  };
  // Derive the key now rather than on the first request.
  void rt.tokens.ready().catch(() => undefined);
  const routes = routeTable(config);

  const methods = requestMethods(rt);
  const defaults: RequestDefaults = {
    login: methods.login,
    logout: methods.logout,
    authorizations: NO_AUTHORIZATIONS,
    auth: undefined,
    [STORE_DEADLINE]: config.storeTimeoutMs,
  };
  const handler = (req: Request, res: Response, next: NextFunction): void => {
    const target = route(routes, req);
    // A static, publicly cacheable script: no session, no cookies (nothing for shared caches to keep).
    if (target.kind === "client") return handleClientScript(res);
    // Server to server, no browser session: the provider's back-channel logout.
    if (target.kind === "backchannel") {
      return void handleBackchannelLogout(rt, req, res).catch((failure: unknown) => (res.headersSent ? undefined : next(failure)));
    }
    // Before flet-auth's session (not an app's mounted ahead of flet-auth, which has added its
    // own already), flet-auth and the app's later middleware add their properties: each then
    // costs a hash insert instead of a hidden class of its own (util/hashed-properties.ts).
    useHashedProperties(req);
    useHashedProperties(res);
    setRequestDefaults(req, defaults);
    loadSession(req, res, rt, (err) => {
      if (err !== undefined) return next(err);
      // The common case costs no promise: a request that is not for flet-auth, in a session
      // without sign-ins or pending logins, with nothing to restore, goes straight on.
      if (target.kind === "other" && req.session?.fletAuth === undefined && !mayRestore(rt, req, target)) return next();
      let settling: Promise<void> | undefined;
      try {
        settling = setRequestAuth(rt, req, res);
      } catch (failure) {
        return failed(rt, res, next, failure);
      }
      // Nor does a signed-in request for the app's own routes whose sign-ins were read without
      // waiting (flet-auth's in-memory store), with nothing to restore.
      if (settling === undefined && target.kind === "other" && (req.auth !== undefined || !mayRestore(rt, req, target))) return next();
      (settling ?? Promise.resolve()).then(() => dispatch(rt, target, req, res, next)).catch((failure: unknown) => failed(rt, res, next, failure));
    });
  };
  // The middleware is the emitter's listening side: `emit` stays inside flet-auth, so app code
  // cannot forge a `login` or `logout` event.
  for (const method of ["on", "once", "off", "addListener", "removeListener", "removeAllListeners", "listeners", "listenerCount"] as const) {
    Object.defineProperty(handler, method, {
      value: (...args: unknown[]) => {
        const result = (emitter[method] as (...a: unknown[]) => unknown).apply(emitter, args);
        return result === emitter ? handler : result;
      },
    });
  }
  return handler as unknown as FletAuthMiddleware;
}

type Route =
  | { readonly kind: "callback"; readonly path: string }
  | { readonly kind: "login"; readonly provider: string }
  | { readonly kind: "logout" | "status" | "client" | "backchannel" | "post-logout" | "other" };

/** flet-auth's paths, worked out once: routing runs on every request and allocates nothing. */
interface RouteTable {
  readonly callbackPaths: ReadonlySet<string>;
  readonly loginPrefix: string;
  readonly logoutPath: string;
  readonly statusPath: string;
  readonly clientPath: string;
  readonly backchannelPath: string;
  readonly postLogoutPath: string;
}

function routeTable(config: Runtime["config"]): RouteTable {
  return {
    callbackPaths: new Set([...config.providers.values()].map((p) => p.callbackPath)),
    loginPrefix: `${config.loginPath}/`,
    logoutPath: config.logoutPath,
    statusPath: `${config.assetsPath}/status`,
    clientPath: `${config.assetsPath}/client.js`,
    backchannelPath: config.backchannelLogoutPath,
    postLogoutPath: config.postLogoutPath,
  };
}

const OTHER: Route = { kind: "other" };
const LOGOUT: Route = { kind: "logout" };
const STATUS: Route = { kind: "status" };
const CLIENT: Route = { kind: "client" };
const BACKCHANNEL: Route = { kind: "backchannel" };
const POST_LOGOUT: Route = { kind: "post-logout" };

/** Which of flet-auth's routes a request is for. */
function route(table: RouteTable, req: Request): Route {
  const method = req.method;
  if (method !== "GET" && method !== "POST") return OTHER;
  const path = pathOf(req);
  if (method === "GET") {
    // Callback paths are full paths (the redirectUrl's), also when flet-auth is mounted under a prefix.
    if (table.callbackPaths.has(req.baseUrl === "" ? path : `${req.baseUrl}${path}`)) return { kind: "callback", path: `${req.baseUrl}${path}` };
    if (path.startsWith(table.loginPrefix)) {
      const provider = decodeSegment(path.slice(table.loginPrefix.length));
      if (provider !== undefined && !provider.includes("/")) return { kind: "login", provider };
    }
    if (path === table.logoutPath) return LOGOUT;
    if (path === table.statusPath) return STATUS;
    if (path === table.clientPath) return CLIENT;
    if (path === table.postLogoutPath) return POST_LOGOUT;
    return OTHER;
  }
  if (path === table.logoutPath) return LOGOUT;
  if (path === table.backchannelPath) return BACKCHANNEL;
  return OTHER;
}

/** Characters for which parseurl, behind `req.path`, hands the whole URL to `url.parse`, which may rewrite the path. */
const PARSED_THE_SLOW_WAY = /[\t\n\f\r #\u00a0\ufeff]/;

/**
 * `req.path`, read from `req.url` where that is a plain origin-form path (nearly every request):
 * the same string parseurl returns for it (everything before the first `?`), without the getter
 * three prototypes up and the parse cache's reads, which cost a few per cent of a request here
 * (request objects have many shapes, so every property read is a full lookup). Anything else (an
 * absolute-form URL, the characters parseurl treats specially) is Express's own `req.path`.
 */
function pathOf(req: Request): string {
  const url = req.url;
  if (url.charCodeAt(0) !== 0x2f /* / */ || PARSED_THE_SLOW_WAY.test(url)) return req.path;
  const query = url.indexOf("?");
  return query === -1 ? url : url.slice(0, query);
}

const NO_AUTHORIZATIONS: Readonly<Record<string, Authorization>> = Object.freeze({});

/** What every request starts with: `req.login`, `req.logout`, no sign-ins, the store deadline. */
interface RequestDefaults {
  readonly login: Request["login"];
  readonly logout: Request["logout"];
  readonly authorizations: Readonly<Record<string, Authorization>>;
  readonly auth: undefined;
  readonly [STORE_DEADLINE]: number;
}

/** Which instance's defaults a request prototype carries. */
const DEFAULTS_OF = Symbol("flet-auth.requestDefaults");
type Prototype = Record<PropertyKey, unknown>;

/**
 * Gives `req` this instance's defaults. Rather than five stores on every request object (each a
 * new hidden class on a request that declined hash-table properties), the defaults go once onto
 * the request prototype Express gives each app (`app.request`), as writable values a sign-in
 * shadows on the request itself. Sub-apps mounted below the app see them too: Express makes a
 * mounted app's `request` inherit from its parent's. A prototype that already carries another
 * instance's defaults, or a request that app code or another instance already gave its own,
 * gets them as own properties, as before: the last instance wins.
 */
function setRequestDefaults(req: Request, defaults: RequestDefaults): void {
  const proto = Object.getPrototypeOf(req) as Prototype | null;
  const owner = proto !== null && Object.hasOwn(proto, DEFAULTS_OF) ? proto[DEFAULTS_OF] : undefined;
  // Set on this request already (by app code, or by another instance): overwritten, as always.
  const fresh = !Object.hasOwn(req, "login") && !Object.hasOwn(req, "logout") && !Object.hasOwn(req, "authorizations") && !Object.hasOwn(req, "auth");
  if (owner === defaults && fresh) return;
  if (proto !== null && owner === undefined && fresh && isAppRequest(proto)) {
    const value = (v: unknown): PropertyDescriptor => ({ value: v, writable: true, configurable: true, enumerable: false });
    Object.defineProperties(proto, {
      login: value(defaults.login),
      logout: value(defaults.logout),
      authorizations: value(defaults.authorizations),
      auth: value(undefined),
      [STORE_DEADLINE]: value(defaults[STORE_DEADLINE]),
      [DEFAULTS_OF]: { value: defaults },
    });
    return;
  }
  const own = req as Request & { [STORE_DEADLINE]?: number };
  own.login = defaults.login;
  own.logout = defaults.logout;
  own.authorizations = defaults.authorizations;
  own.auth = undefined;
  own[STORE_DEADLINE] = defaults[STORE_DEADLINE];
}

/** Express's per-app request prototype (it carries `app`), never a shared one such as IncomingMessage.prototype. */
function isAppRequest(proto: Prototype): boolean {
  return Object.hasOwn(proto, "app") && !Object.hasOwn(proto, "login") && !Object.hasOwn(proto, "auth");
}

/**
 * Restoring from the remember-me cookie costs a provider call: not for the routes that start,
 * finish or end a sign-in anyway, and not for a page's subresources (images, scripts, styles:
 * `Sec-Fetch-Mode: no-cors`), which would each restore in parallel with the page itself.
 */
function mayRestore(rt: Runtime, req: Request, target: Route): boolean {
  if (rt.rememberMe === undefined || (target.kind !== "status" && target.kind !== "other")) return false;
  const mode = req.get("sec-fetch-mode");
  if (target.kind === "other" && (mode === "no-cors" || mode === "websocket")) return false;
  return rt.rememberMe.present(req);
}

/** A request flet-auth could not serve: Express's error handling, or a log line once the response has started. */
function failed(rt: Runtime, res: Response, next: NextFunction, failure: unknown): void {
  if (!res.headersSent) return next(failure);
  // Too late to answer with an error; report it instead of crashing or going silent.
  rt.config.logger.error("flet-auth: request failed after the response started", failure);
}

/** The rest of a request once its sign-ins are set: a remember-me restore if due, then flet-auth's route or the app's. */
async function dispatch(rt: Runtime, target: Route, req: Request, res: Response, next: NextFunction): Promise<void> {
  if (req.auth === undefined && mayRestore(rt, req, target)) await restoreRemembered(rt, req, res);

  switch (target.kind) {
    case "callback":
      return handleCallback(rt, req, res, next, target.path);
    case "login":
      return handleLoginRoute(rt, req, res, target.provider);
    case "logout":
      return handleLogoutRoute(rt, req, res, next);
    case "status":
      return handleStatus(req, res);
    case "post-logout":
      return handlePostLogout(rt, req, res);
    default:
      next();
  }
}

function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}
