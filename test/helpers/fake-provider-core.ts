/**
 * The fake provider's options and what it has issued (codes, access and refresh tokens),
 * shared by the standard and the GitHub-like endpoints.
 */
import { createHash, randomBytes } from "node:crypto";

/** The signed-in user, in GitHub's `/user` shape (any extra keys are echoed as they are). */
export interface FakeUser {
  id: number | string;
  login: string;
  name: string;
  email: string | null;
  [k: string]: unknown;
}

/** A GitHub `/user/emails` entry. */
export interface FakeEmail {
  email: string;
  primary: boolean;
  verified: boolean;
}

/** Behaviour of the fake provider; every field is optional and can be changed with `set()`. */
export interface FakeProviderOptions {
  /** @default "test-client" */
  clientId?: string;
  /** @default "test-secret" */
  clientSecret?: string;
  /** Access token lifetime in seconds; 0 → no `expires_in` and a token that never expires (GitHub OAuth App). @default 3600 */
  accessTokenTtl?: number;
  /** Issue a refresh token with the code exchange. @default true */
  issueRefreshTokens?: boolean;
  /** Every refresh issues a new refresh token and invalidates the old one (reuse → 400 invalid_grant). @default true */
  rotateRefreshTokens?: boolean;
  /** Refresh responses carry no `refresh_token`; the old one stays valid. Wins over rotation. @default false */
  refreshOmitsRefreshToken?: boolean;
  /** Reusing a rotated-out refresh token also revokes every token of that grant (RFC 9700 §4.14.2). @default false */
  refreshReuseRevokesGrant?: boolean;
  /** `/authorize` requires `code_challenge` + `code_challenge_method=S256` (RFC 7636). @default true */
  requirePkce?: boolean;
  /** @default DEFAULT_USER (id 1001, login "octocat", name "The Octocat", email null) */
  user?: FakeUser;
  /** GitHub `/user/emails`. @default DEFAULT_EMAILS (a non-primary, then primary "octocat@example.com") */
  emails?: FakeEmail[];
  /** Number of teams behind GitHub `/user/teams` (paginated). @default 3 */
  teams?: number;
  /** Delay in ms before a token endpoint answers. @default 0 */
  tokenDelayMs?: number;
}

export type Settings = Required<FakeProviderOptions>;

/** The default signed-in user (GitHub shape). Cloned per provider, so tests may mutate theirs. */
export const DEFAULT_USER: Readonly<FakeUser> = Object.freeze({
  id: 1001,
  login: "octocat",
  node_id: "MDQ6VXNlcjEwMDE=",
  name: "The Octocat",
  email: null,
  type: "User",
  site_admin: false,
});

/** The default GitHub `/user/emails`: the primary address is deliberately not first. */
export const DEFAULT_EMAILS: readonly Readonly<FakeEmail>[] = Object.freeze([
  Object.freeze({ email: "1001+octocat@users.noreply.github.com", primary: false, verified: true }),
  Object.freeze({ email: "octocat@example.com", primary: true, verified: true }),
]);

export function defaultSettings(): Settings {
  return {
    clientId: "test-client",
    clientSecret: "test-secret",
    accessTokenTtl: 3600,
    issueRefreshTokens: true,
    rotateRefreshTokens: true,
    refreshOmitsRefreshToken: false,
    refreshReuseRevokesGrant: false,
    requirePkce: true,
    user: structuredClone({ ...DEFAULT_USER }),
    emails: DEFAULT_EMAILS.map((e) => ({ ...e })),
    teams: 3,
    tokenDelayMs: 0,
  };
}

/** Applies `options` onto `settings`; an explicit `undefined` restores the default. */
export function applyOptions(settings: Settings, options: Partial<FakeProviderOptions>): void {
  const defaults = defaultSettings();
  for (const key of Object.keys(options) as (keyof FakeProviderOptions)[]) {
    const value = options[key];
    Object.assign(settings, { [key]: value === undefined ? defaults[key] : value });
  }
}

interface CodeRecord {
  clientId: string;
  redirectUri: string;
  scope: string[];
  challenge: { value: string; method: "S256" | "plain" } | undefined;
  nonce: string | undefined;
  expiresAt: number;
  used: boolean;
  grantId: string;
}

interface AccessRecord {
  grantId: string;
  scope: string[];
  expiresAt: number | null;
}

interface RefreshRecord {
  grantId: string;
  clientId: string;
  scope: string[];
}

/** Everything the provider has issued. */
export class ProviderState {
  readonly codes = new Map<string, CodeRecord>();
  readonly access = new Map<string, AccessRecord>();
  readonly refresh = new Map<string, RefreshRecord>();
  /** Refresh tokens that were valid once, with why they no longer are (better error messages). */
  readonly retired = new Map<string, { grantId: string; reason: string }>();

  constructor(readonly settings: Settings) {}

  /** A live access token's record, or undefined when unknown, revoked or expired. */
  accessRecord(token: string): AccessRecord | undefined {
    const rec = this.access.get(token);
    if (rec === undefined) return undefined;
    return rec.expiresAt !== null && Date.now() >= rec.expiresAt ? undefined : rec;
  }

  /** Stores a fresh authorization code (RFC 6749 §4.1.2 recommends a 10-minute lifetime at most). */
  issueCode(rec: Omit<CodeRecord, "expiresAt" | "used" | "grantId">): string {
    const code = randomToken(20);
    this.codes.set(code, { ...rec, expiresAt: Date.now() + 600_000, used: false, grantId: randomToken(12) });
    return code;
  }

  revokeGrant(grantId: string): void {
    for (const [token, rec] of this.access) if (rec.grantId === grantId) this.access.delete(token);
    for (const [token, rec] of this.refresh) {
      if (rec.grantId === grantId) this.retire(token, rec.grantId, "revoked with its grant");
    }
  }

  retire(token: string, grantId: string, reason: string): void {
    this.refresh.delete(token);
    this.retired.set(token, { grantId, reason });
  }
}

export const randomToken = (bytes = 32): string => randomBytes(bytes).toString("base64url");

/** RFC 7636 §4.2: BASE64URL(SHA256(ASCII(code_verifier))). */
export const s256 = (verifier: string): string =>
  createHash("sha256").update(verifier, "ascii").digest("base64url");

/** RFC 7636 §4.1 / §4.2: 43–128 unreserved characters. */
export const isPkceString = (value: string): boolean => /^[A-Za-z0-9\-._~]{43,128}$/.test(value);

export function splitScope(scope: string | undefined, separators: RegExp): string[] {
  return (scope ?? "").split(separators).filter((s) => s !== "");
}
