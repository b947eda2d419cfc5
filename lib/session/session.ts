import type { Request, RequestHandler, Response } from "express";
import session, { type Session, type SessionData } from "express-session";
import { FletAuthError } from "../errors.js";
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
export function createSessionMiddleware(config: FletAuthConfig): RequestHandler | undefined {
  if (config.secrets === undefined) return undefined;
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

/** Runs the app's session if present, else ours; fails clearly when there is neither. */
export async function ensureSession(req: Request, res: Response, own: RequestHandler | undefined): Promise<LiveSession> {
  if (req.session === undefined && own !== undefined) {
    await new Promise<void>((resolve, reject) => {
      void own(req, res, (err?: unknown) => (err ? reject(err) : resolve()));
    });
  }
  if (req.session === undefined) {
    throw new FletAuthError(
      "session_unavailable",
      "flet-auth needs a session: pass fletAuth({ secret }) or mount express-session before fletAuth (check the session store is reachable).",
    );
  }
  return req.session;
}

/** flet-auth's part of the session, created on first write. */
export function authData(req: Request): FletAuthSessionData {
  return req.session?.fletAuth ?? {};
}

/** Replaces flet-auth's part of the session (express-session sees the change and saves it). */
export function setAuthData(req: Request, data: FletAuthSessionData): void {
  if (req.session) req.session.fletAuth = data;
}

/** Persists the session now, e.g. before redirecting away (checklist 23: async stores lose it otherwise). */
export function saveSession(req: Request): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!req.session) return resolve();
    req.session.save((err?: unknown) => (err ? reject(sessionError(err)) : resolve()));
  });
}

/**
 * New session id, keeping only flet-auth's signed-in providers (OWASP session fixation, checklist
 * 20). Pending logins and the app's own keys are dropped, as passport does on login.
 */
export function regenerateSession(req: Request, keep: FletAuthSessionData): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!req.session) return reject(new FletAuthError("session_unavailable", "No session to regenerate."));
    req.session.regenerate((err?: unknown) => {
      if (err) return reject(sessionError(err));
      setAuthData(req, keep);
      resolve();
    });
  });
}

function sessionError(err: unknown): FletAuthError {
  return new FletAuthError("session_unavailable", "The session store failed.", { cause: err });
}
