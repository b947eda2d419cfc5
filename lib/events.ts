import { EventEmitter } from "node:events";
import type { Request, Response } from "express";
import type { FletAuthError } from "./errors.js";
import type { Authorization } from "./signin/authorization.js";

/** How a sign-in happened. */
export type LoginSource = "callback" | "savedToken" | "rememberMe";

/**
 * Emitted as `login` after every sign-in attempt, once the session is committed. Success ⇔ `!e.error`.
 * @example
 * auth.on("login", (e) => { if (e.error) console.warn(e.provider, e.error, e.errorDescription); });
 */
export interface LoginEvent {
  readonly name: "login";
  /** The OAuth error (`access_denied`, …) or a flet-auth error code; `undefined` on success. */
  readonly error: string | undefined;
  readonly errorDescription: string | undefined;
  /** Provider name (the key in `providers`); empty when the state named none. */
  readonly provider: string;
  /** The new authorization, on success. */
  readonly auth: Authorization | undefined;
  readonly source: LoginSource;
  readonly req: Request;
  readonly res: Response;
}

/**
 * Why a sign-out happened: `logout` (req.logout() or the logout route), `refresh_failed` (the
 * provider revoked the grant), `idle_timeout` / `absolute_timeout` (the sign-in outlived
 * `idleTimeoutMs` / `absoluteTimeoutMs`), `ended` (ended elsewhere: a logout of the same session
 * racing this request, "sign out everywhere", back-channel logout), `remember_me_reused` (an
 * already-rotated remember-me cookie came back: likely a stolen copy; the series is revoked).
 */
export type LogoutReason = "logout" | "refresh_failed" | "idle_timeout" | "absolute_timeout" | "ended" | "remember_me_reused";

/** Emitted as `logout` once per provider signed out, after the session is committed. */
export interface LogoutEvent {
  readonly name: "logout";
  readonly provider: string;
  /** The authorization that ended. */
  readonly auth: Authorization | undefined;
  /** Why; see {@link LogoutReason}. */
  readonly reason: LogoutReason;
  readonly req: Request;
  readonly res: Response;
}

/** Emitted as `refresh` after a token was refreshed and stored. */
export interface RefreshEvent {
  readonly name: "refresh";
  readonly provider: string;
  readonly auth: Authorization;
  readonly req: Request;
}

/** Event name → listener argument. */
export interface FletAuthEvents {
  login: LoginEvent;
  logout: LogoutEvent;
  refresh: RefreshEvent;
}

/**
 * Where flet-auth reports problems it handles itself (listener errors, production warnings).
 * `console` fits; so do pino and winston loggers.
 *
 * @example
 * fletAuth({ providers, secret, logger: { warn: (m, ...d) => log.warn({ d }, m), error: (m, ...d) => log.error({ d }, m) } });
 */
export interface Logger {
  /** A configuration or deployment problem that does not stop the request (logged once where it could repeat). */
  warn(message: string, ...details: unknown[]): void;
  /** A failure flet-auth handled (a listener that threw, a response that could not be finished). */
  error(message: string, ...details: unknown[]): void;
}

/**
 * Calls the listeners of `event` without letting them steer the request: a listener that throws
 * or rejects is logged, never turned into an `error` event (which crashes a process when nobody
 * listens) nor into a failed login.
 */
export function notify<K extends keyof FletAuthEvents>(
  emitter: EventEmitter,
  logger: Logger,
  event: K,
  payload: FletAuthEvents[K],
): void {
  // rawListeners: `once` wrappers remove themselves when called (listeners() unwraps them).
  for (const listener of emitter.rawListeners(event)) {
    try {
      const result: unknown = (listener as (e: FletAuthEvents[K]) => unknown).call(emitter, payload);
      if (result instanceof Promise) {
        result.catch((err: unknown) => logger.error(`flet-auth: a "${event}" listener rejected`, err));
      }
    } catch (err) {
      logger.error(`flet-auth: a "${event}" listener threw`, err);
    }
  }
}

/** Where a `login` event comes from, and the request it belongs to. */
export interface LoginContext {
  readonly provider: string;
  readonly source: LoginSource;
  readonly req: Request;
  readonly res: Response;
}

/**
 * The one builder of `login` events: a success carries the authorization; a failure carries the
 * OAuth error (`access_denied`, …) or flet-auth's code, never an empty string (which would read
 * as success to listeners and to the complete page), and the description or message.
 */
export function loginEvent(ctx: LoginContext, outcome: { readonly auth: Authorization } | { readonly error: FletAuthError }): LoginEvent {
  const base = { name: "login", provider: ctx.provider, source: ctx.source, req: ctx.req, res: ctx.res } as const;
  if ("auth" in outcome) return { ...base, error: undefined, errorDescription: undefined, auth: outcome.auth };
  const err = outcome.error;
  return { ...base, error: err.oauthError || err.code, errorDescription: err.description || err.message, auth: undefined };
}
