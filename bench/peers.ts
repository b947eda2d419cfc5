/**
 * The peer libraries the benchmarks compare flet-auth with, loaded through `require` with the
 * small typed surface used here. Their own type packages are not imported on purpose: passport's
 * and express-openid-connect's declarations augment Express's global `Request` (`req.login`,
 * `req.logout`, `req.user`, a required `req.oidc`), and this repository type-checks lib/, test/
 * and bench/ as one program.
 */
import { createRequire } from "node:module";
import type { Request, RequestHandler } from "express";

const require = createRequire(import.meta.url);

type Done = (err: unknown, user?: unknown) => void;

/** passport 0.7 (the subset used). */
export interface Passport {
  use(strategy: unknown): Passport;
  serializeUser(fn: (user: unknown, done: Done) => void): void;
  deserializeUser(fn: (serialized: unknown, done: Done) => void): void;
  initialize(): RequestHandler;
  session(): RequestHandler;
  authenticate(strategy: string, options?: { readonly failWithError?: boolean }): RequestHandler;
}

/** passport-local's Strategy. */
export type LocalStrategyClass = new (verify: (username: string, password: string, done: Done) => void) => unknown;

export const passport = require("passport") as Passport;
export const LocalStrategy = (require("passport-local") as { Strategy: LocalStrategyClass }).Strategy;

/** express-openid-connect's `auth()` options (the subset used). */
export interface OidcConfig {
  readonly issuerBaseURL: string;
  readonly baseURL: string;
  readonly clientID: string;
  readonly clientSecret: string;
  readonly secret: string;
  readonly authRequired: boolean;
  readonly idpLogout?: boolean;
  readonly authorizationParams: { readonly response_type: "code"; readonly scope: string; readonly response_mode?: "query" };
}

/** `req.oidc` of express-openid-connect (the subset used). */
export interface OidcContext {
  isAuthenticated(): boolean;
  readonly user?: Readonly<Record<string, unknown>>;
  readonly accessToken?: {
    readonly access_token: string;
    isExpired(): boolean;
    refresh(): Promise<{ readonly access_token: string }>;
  };
}

export const { auth: oidcAuth } = require("express-openid-connect") as { auth: (config: OidcConfig) => RequestHandler };

/** `req.oidc`, set by express-openid-connect's middleware. */
export function oidcOf(req: Request): OidcContext {
  return (req as Request & { oidc: OidcContext }).oidc;
}

/** passport's `req.user`. */
export function passportUser(req: Request): { readonly sub?: string } | undefined {
  return (req as Request & { user?: { readonly sub?: string } }).user;
}
