import type { Request, Response } from "express";
import type { FletAuthConfig } from "../config.js";
import { createSealer, type Sealer } from "../crypto/sealer.js";
import type { Logger } from "../events.js";
import { OAuthToken } from "../oauth/token.js";
import { isRecord } from "../util/records.js";

/** What the remember-me cookie holds (sealed): enough to sign the browser in again. */
export interface RememberedLogin {
  readonly provider: string;
  /** Flet's token JSON (`OAuthToken.toJson()`). */
  readonly token: string;
  readonly fetchUser: boolean;
  readonly fetchGroups: boolean;
  readonly scope: readonly string[];
  /**
   * When the user first asked to be remembered (ms epoch). Rewrites (after a refresh or a
   * restore) keep it, so `maxAge` bounds the whole remembered period instead of sliding.
   */
  readonly since?: number;
  /** The series this cookie belongs to (server-side record, see series.ts). */
  readonly series: string;
  /** This cookie's place in its series: rotated on every use. */
  readonly nonce: string;
}

/** Reads, writes and clears the remember-me cookie. */
export interface RememberMe {
  /** How long a cookie written now for a period that started at `since` stays valid (ms). */
  remaining(since: number | undefined): number;
  read(req: Request): Promise<RememberedLogin | undefined>;
  /** True when the request carries the cookie at all (valid or not). */
  present(req: Request): boolean;
  write(req: Request, res: Response, login: RememberedLogin): Promise<void>;
  clear(req: Request, res: Response): void;
}

/**
 * The cookie is a Fernet token under a key derived once from `rememberMe.secretKey` (SPEC §4):
 * opening it costs one HMAC and one AES block run, so a forged cookie is rejected in
 * microseconds, never with a PBKDF2 run. The Fernet timestamp enforces `maxAge` server-side.
 */
export function createRememberMe(options: NonNullable<FletAuthConfig["rememberMe"]>, clock: () => number, logger: Logger): RememberMe {
  const sealer: Sealer = createSealer(options.secrets, "remember-me", { now: clock });
  void sealer.ready().catch(() => undefined);
  const ttlSeconds = Math.floor(options.maxAgeMs / 1000);
  const cookieOptions = (req: Request) => ({
    httpOnly: true,
    sameSite: "lax" as const,
    secure: req.secure,
    path: "/",
  });

  return {
    remaining(since) {
      return (since ?? clock()) + options.maxAgeMs - clock();
    },
    present(req) {
      return readCookie(req, options.cookieName) !== undefined;
    },
    async read(req) {
      const raw = readCookie(req, options.cookieName);
      // Stryker disable next-line EqualityOperator: equivalent, no sealed value is exactly 8192 characters long.
      if (raw === undefined || raw.length > 8192) return undefined;
      const text = await sealer.open(raw, { ttlSeconds });
      if (text === undefined) return undefined;
      let login: RememberedLogin | undefined;
      try {
        login = parseRemembered(JSON.parse(text));
      } catch {
        return undefined;
      }
      if (login?.since === undefined || clock() - login.since >= options.maxAgeMs) return undefined;
      return login;
    },
    async write(req, res, login) {
      if (res.headersSent) return;
      const since = login.since ?? clock();
      const remaining = since + options.maxAgeMs - clock();
      if (remaining <= 0) return this.clear(req, res);
      let sealed = await sealer.seal(JSON.stringify({ ...login, since }));
      // Stryker disable next-line EqualityOperator: equivalent, sealed lengths jump from 3788 to 3812 and are never 3800.
      if (sealed.length > MAX_COOKIE_VALUE) {
        // Browsers drop cookies over 4096 bytes silently. Large JWT access tokens (Entra ID) get
        // there: keep only the refresh token, and let the restore refresh first.
        const compact = refreshOnly(login.token);
        sealed = compact === undefined ? sealed : await sealer.seal(JSON.stringify({ ...login, token: compact, since }));
      }
      // Stryker disable next-line EqualityOperator: equivalent, as above.
      if (sealed.length > MAX_COOKIE_VALUE) {
        logger.warn("flet-auth: the remember-me cookie would exceed the browser's 4 KB limit (tokens too large); not remembering this sign-in.");
        return;
      }
      if (res.headersSent) return;
      res.cookie(options.cookieName, sealed, { ...cookieOptions(req), maxAge: remaining });
    },
    clear(req, res) {
      if (!res.headersSent) res.clearCookie(options.cookieName, cookieOptions(req));
    },
  };
}

/** Room for the cookie's name and attributes within the 4096 bytes browsers keep (RFC 6265 §6.1). */
const MAX_COOKIE_VALUE = 3800;

/** The token JSON without its access token (marked expired), when it has a refresh token. */
function refreshOnly(tokenJson: string): string | undefined {
  try {
    const token = OAuthToken.fromJson(tokenJson);
    if (token.refreshToken === undefined) return undefined;
    return new OAuthToken({ accessToken: "", tokenType: token.tokenType, scope: token.scope, expiresAt: 0, refreshToken: token.refreshToken }).toJson();
  } catch {
    return undefined;
  }
}

function parseRemembered(value: unknown): RememberedLogin | undefined {
  if (!isRecord(value)) return undefined;
  const { provider, token, fetchUser, fetchGroups, scope, since, series, nonce } = value;
  if (typeof provider !== "string" || typeof token !== "string") return undefined;
  if (typeof series !== "string" || typeof nonce !== "string") return undefined;
  if (typeof fetchUser !== "boolean" || typeof fetchGroups !== "boolean") return undefined;
  if (!Array.isArray(scope) || !scope.every((s) => typeof s === "string")) return undefined;
  if (typeof since !== "number" || !Number.isFinite(since)) return undefined;
  return { provider, token, fetchUser, fetchGroups, scope, since, series, nonce };
}

/** One cookie's raw value from the Cookie header (RFC 6265 §5.4), without cookie-parser. */
export function readCookie(req: Request, name: string): string | undefined {
  const header = req.headers.cookie;
  if (typeof header !== "string") return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq === -1 || part.slice(0, eq).trim() !== name) continue;
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    try {
      return decodeURIComponent(value);
    } catch {
      return undefined;
    }
  }
  return undefined;
}
