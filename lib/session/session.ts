import type { Request, RequestHandler, Response } from "express";
import session, { type Session, type SessionData } from "express-session";
import { FletAuthError } from "../errors.js";
import { withDeadline } from "../util/deadline.js";
import { EXPIRED, type DeadlineQueue } from "../util/deadline-queue.js";
import { isRecord } from "../util/records.js";
import { safeError } from "../util/safe-error.js";
import type { FletAuthSessionData } from "./data.js";
import type { FletAuthConfig } from "../config.js";

/** `req.session` once we know it exists. */
export type LiveSession = Session & Partial<SessionData>;

/**
 * express-session for apps that did not mount one: HttpOnly, SameSite=Lax (Strict would drop the
 * cookie on the provider's cross-site redirect back), Secure on https (`secure: "auto"` honours
 * `trust proxy`), rolling off, nothing saved for anonymous visitors. express-session itself warns
 * once when its MemoryStore runs with NODE_ENV=production.
 */
export function createSessionMiddleware(config: FletAuthConfig): RequestHandler {
  const { cookie, ...rest } = config.session;
  return session({
    name: "flet-auth.sid",
    resave: false,
    saveUninitialized: false,
    ...rest,
    secret: [...config.secrets],
    cookie: { httpOnly: true, sameSite: "lax", secure: "auto", path: "/", ...cookie },
  });
}

/**
 * flet-auth's express-session, created on the first request that finds no session of the app's:
 * an app that mounts its own session never gets a second one (nor its MemoryStore warning).
 */
export function lazySessionMiddleware(config: FletAuthConfig): () => RequestHandler {
  let own: RequestHandler | undefined;
  return () => (own ??= createSessionMiddleware(config));
}

/**
 * The deadline of the session-store operations of a request (load, save, regenerate), set with
 * the request defaults (middleware.ts): a store that hangs (node-redis queues commands while
 * disconnected) answers 503 `session_unavailable` in bounded time instead of holding the request.
 */
export const STORE_DEADLINE = Symbol("flet-auth.storeDeadline");
type DeadlineCarrier = Request & { [STORE_DEADLINE]?: number };
const DEFAULT_STORE_TIMEOUT_MS = 3_000;

/** `operation` within the request's store deadline; failures become 503 `session_unavailable`. */
function bounded(req: Request, what: string, operation: (done: (err?: unknown) => void) => void): Promise<void> {
  const ms = (req as DeadlineCarrier)[STORE_DEADLINE] ?? DEFAULT_STORE_TIMEOUT_MS;
  const settled = new Promise<void>((resolve, reject) => operation((err?: unknown) => (err ? reject(sessionError(err)) : resolve())));
  return withDeadline(settled, ms, () => sessionError(new Error(`the session store did not ${what} within ${ms} ms`)));
}

/**
 * Runs the app's session if present, else ours, then calls `done` (callback style: this runs on
 * every request, and a promise per request is measurable). The load has a deadline, from the
 * instance's queue of store deadlines (one timer for all requests, not one each); a store that
 * fails or does not answer in time gives 503 `session_unavailable`.
 */
export function loadSession(
  req: Request,
  res: Response,
  rt: { readonly ownSession: () => RequestHandler; readonly config: { readonly storeTimeoutMs: number }; readonly storeDeadlines: DeadlineQueue },
  done: (err?: FletAuthError) => void,
): void {
  // express-session sets `req.session` on the request itself; asking for an own property first
  // spares a signed-out request the failed lookup through every prototype of `req`.
  if (Object.hasOwn(req, "session") && req.session !== undefined) return done();
  let finished = false;
  let ticket = -1;
  const finish = (err?: unknown): void => {
    if (finished) return;
    finished = true;
    rt.storeDeadlines.cancel(ticket); // a no-op for -1 (loaded synchronously, no deadline set)
    if (err === EXPIRED) return done(sessionError(new Error(`the session store did not load the session within ${rt.config.storeTimeoutMs} ms`)));
    if (err !== undefined && err !== null) return done(sessionError(err));
    if (req.session === undefined) return done(new FletAuthError("session_unavailable", "flet-auth needs a session, and none was created."));
    done();
  };
  rt.ownSession()(req, res, finish);
  // A visitor without a session cookie gets a new session synchronously: no store, no deadline.
  if (!finished) ticket = rt.storeDeadlines.add(finish);
}

/**
 * flet-auth's part of the session, created on first write. The store is outside our control
 * (shared Redis, edited by hand, older versions): anything malformed is dropped here, so the
 * rest of the code sees well-formed entries or none — a signed-out visitor, never a 500.
 */
export function authData(req: Request): FletAuthSessionData {
  const raw: unknown = req.session?.fletAuth;
  if (!isRecord(raw)) return {};
  // The common case, read on every signed-in request: well-formed as stored, used as is (every
  // caller copies before it changes anything).
  if (wellFormed(raw)) return raw as FletAuthSessionData;
  const auths = isRecord(raw["auths"])
    ? Object.fromEntries(Object.entries(raw["auths"]).filter(([, a]) => typeof a === "string"))
    : undefined;
  const tx = isRecord(raw["tx"]) ? Object.fromEntries(Object.entries(raw["tx"]).filter(([, t]) => isTransaction(t))) : undefined;
  return {
    ...(auths ? { auths: auths as FletAuthSessionData["auths"] } : {}),
    ...(tx ? { tx: tx as FletAuthSessionData["tx"] } : {}),
    ...(typeof raw["current"] === "string" ? { current: raw["current"] } : {}),
    ...(isLogoutState(raw["logout"]) ? { logout: raw["logout"] } : {}),
  };
}

/** Whether `raw` holds only flet-auth's keys, each well-formed: what the copy below would keep. */
function wellFormed(raw: Record<string, unknown>): boolean {
  for (const key in raw) {
    const value = raw[key];
    if (key === "auths") {
      if (!isRecord(value)) return false;
      for (const name in value) if (typeof value[name] !== "string") return false;
    } else if (key === "current") {
      if (typeof value !== "string") return false;
    } else if (key === "tx") {
      if (!isRecord(value)) return false;
      for (const state in value) if (!isTransaction(value[state])) return false;
    } else if (key !== "logout" || !isLogoutState(value)) {
      return false;
    }
  }
  return true;
}

function isLogoutState(value: unknown): value is NonNullable<FletAuthSessionData["logout"]> {
  return isRecord(value) && typeof value["state"] === "string" && typeof value["returnTo"] === "string" && typeof value["expiresAt"] === "number";
}

function isTransaction(value: unknown): boolean {
  return (
    isRecord(value) &&
    typeof value["provider"] === "string" &&
    typeof value["verifier"] === "string" &&
    typeof value["createdAt"] === "number" &&
    Array.isArray(value["scope"])
  );
}

/**
 * Whether the request's session lives in express-session's MemoryStore: in this process only, so
 * flet-auth's in-memory store may hold what the session refers to without losing anything on a
 * restart or across instances that the session itself would not lose.
 */
export function sessionIsProcessLocal(req: Request): boolean {
  return req.sessionStore instanceof session.MemoryStore;
}

/** Replaces flet-auth's part of the session (express-session sees the change and saves it). */
export function setAuthData(req: Request, data: FletAuthSessionData): void {
  if (req.session) req.session.fletAuth = data;
}

/** Persists the session now, e.g. before redirecting away (checklist 23: async stores lose it otherwise). */
export function saveSession(req: Request): Promise<void> {
  const live = req.session;
  if (!live) return Promise.resolve();
  return bounded(req, "save the session", (done) => live.save(done));
}

/**
 * A new session id (OWASP session fixation, checklist 20). On sign-in (`keep` given) the app's
 * own session keys move to the new id with flet-auth's data replaced by `keep` — an app's cart
 * or flash messages survive signing in. On sign-out (`keep` undefined) nothing is kept: the old
 * session is destroyed and the browser gets a fresh, empty one.
 */
export function regenerateSession(req: Request, keep?: FletAuthSessionData): Promise<void> {
  const old = req.session;
  if (!old) return Promise.reject(new FletAuthError("session_unavailable", "No session to regenerate."));
  const appData = appKeys(old);
  return bounded(req, "regenerate the session", (done) =>
    old.regenerate((err?: unknown) => {
      if (!err && keep !== undefined) {
        Object.assign(req.session, appData);
        // Replaces the old session's flet-auth part, copied above with the app's keys.
        setAuthData(req, keep);
      }
      done(err);
    }),
  );
}

/** A session's data keys: everything but express-session's cookie and methods. */
function appKeys(s: LiveSession): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(s)) {
    if (key !== "cookie" && typeof value !== "function") out[key] = value;
  }
  return out;
}

function sessionError(err: unknown): FletAuthError {
  if (err instanceof FletAuthError) return err;
  // 503: the store is down or slow, a temporary condition; the cause is sanitised (client errors
  // may carry connection URLs with passwords, or the command's arguments).
  return new FletAuthError("session_unavailable", "The session store is not available; try again shortly.", { status: 503, cause: safeError(err) });
}
