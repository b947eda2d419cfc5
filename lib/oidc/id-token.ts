/**
 * ID token validation (OpenID Connect Core 1.0 §3.1.3.7, §12.2 for refreshes): signature
 * against the provider's JWKS (fetched once, refetched on an unknown `kid`, refetches
 * rate-limited by jose's cooldown), `iss`, `aud`, `azp`, `exp`/`iat`/`nbf` with a small clock
 * tolerance, `nonce`, and the algorithm against the provider's allow-list (never `none`, never
 * HMAC, so a public key can never serve as an HMAC secret).
 */
import { createRemoteJWKSet, decodeJwt, jwtVerify, type JWTPayload } from "jose";
import { FletAuthError } from "../errors.js";
import type { OAuthProvider } from "../providers/provider.js";
import { safeError } from "../util/safe-error.js";

/** Verified ID-token claims, frozen. */
export type IdTokenClaims = Readonly<Record<string, unknown>>;

/** A key set per JWKS URI, shared by the instance's logins (jose caches keys and rate-limits refetches). */
export type KeySets = Map<string, ReturnType<typeof createRemoteJWKSet>>;

/** Seconds of clock difference tolerated on `exp`, `iat` and `nbf`. */
const CLOCK_TOLERANCE_S = 30;

/** What the check needs besides the token. */
export interface IdTokenCheck {
  /** The login's nonce; `undefined` for a refreshed ID token (§12.2: no nonce then). */
  readonly nonce?: string | undefined;
  /** For a refreshed ID token: the original's `sub`, which must not change (§12.2). */
  readonly subject?: string | undefined;
  readonly nowMs: number;
  readonly timeoutMs: number;
}

const invalid = (why: string, cause?: unknown): FletAuthError =>
  new FletAuthError("id_token_invalid", `The ID token was refused: ${why}.`, cause === undefined ? {} : { cause: safeError(cause) });

/** Verifies `idToken` from `provider`; resolves to its claims, or rejects with `id_token_invalid`. */
export async function verifyIdToken(keySets: KeySets, provider: OAuthProvider, idToken: unknown, check: IdTokenCheck): Promise<IdTokenClaims> {
  if (typeof idToken !== "string" || idToken === "") throw invalid("the token response has no id_token");
  if (provider.issuer === undefined || provider.jwksUri === undefined) throw invalid("the provider has no issuer or JWKS");
  const expectedIssuer = issuerFor(provider.issuer, idToken);
  let keys = keySets.get(provider.jwksUri);
  if (keys === undefined) {
    keys = keySetFor(provider.jwksUri, check.timeoutMs);
    keySets.set(provider.jwksUri, keys);
  }
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(idToken, keys, {
      issuer: expectedIssuer,
      audience: provider.clientId,
      algorithms: [...provider.idTokenSigningAlgorithms],
      clockTolerance: CLOCK_TOLERANCE_S,
      currentDate: new Date(check.nowMs),
      requiredClaims: ["iss", "sub", "aud", "exp", "iat"],
    }));
  } catch (err) {
    // The provider's JWKS did not answer: not the token's fault, and worth a retry.
    if ((err as { code?: unknown } | null)?.code === "ERR_JWKS_TIMEOUT") {
      throw new FletAuthError("provider_timeout", "The provider's JWKS did not answer in time.", { cause: safeError(err) });
    }
    throw invalid(reason(err), err);
  }
  // §3.1.3.7 steps 4–5: with several audiences, azp must be us; an azp, if any, must be us.
  const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  if ((audiences.length > 1 || payload["azp"] !== undefined) && payload["azp"] !== provider.clientId) {
    throw invalid("its azp is not this client");
  }
  if (check.nonce !== undefined && payload["nonce"] !== check.nonce) throw invalid("its nonce does not belong to this login");
  if (check.nonce === undefined && check.subject !== undefined && payload.sub !== check.subject) throw invalid("a refreshed ID token names another subject");
  return Object.freeze({ ...payload });
}

/** A remote key set: jose caches the keys, refetches on an unknown `kid`, at most every 30 s. */
export function keySetFor(jwksUri: string, timeoutMs: number): ReturnType<typeof createRemoteJWKSet> {
  return createRemoteJWKSet(new URL(jwksUri), { timeoutDuration: Math.ceil(timeoutMs), cooldownDuration: 30_000, cacheMaxAge: 600_000 });
}

/**
 * The issuer to expect: Azure's multi-tenant metadata names `https://login.microsoftonline.com/{tenantid}/v2.0`,
 * to be filled with the token's own `tid` (the signature check that follows covers it).
 */
export function issuerFor(issuer: string, idToken: string): string {
  if (!issuer.includes("{tenantid}")) return issuer;
  let tid: unknown;
  try {
    tid = decodeJwt(idToken)["tid"];
  } catch (err) {
    throw invalid("it is not a JWT", err);
  }
  if (typeof tid !== "string" || !/^[A-Za-z0-9-]{1,64}$/.test(tid)) throw invalid("it has no tenant id (tid)");
  return issuer.replace("{tenantid}", tid);
}

/** jose's error, in words that name the check (its messages carry no token content). */
function reason(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  switch (code) {
    case "ERR_JWT_EXPIRED":
      return "it has expired";
    case "ERR_JWS_SIGNATURE_VERIFICATION_FAILED":
      return "its signature does not verify";
    case "ERR_JOSE_ALG_NOT_ALLOWED":
      return "its algorithm is not allowed";
    case "ERR_JWKS_NO_MATCHING_KEY":
      return "no key of the provider's JWKS matches it";
    case "ERR_JWT_CLAIM_VALIDATION_FAILED": {
      const claim = (err as { claim?: unknown }).claim;
      return `its ${typeof claim === "string" ? claim : "claims"} check failed`;
    }
    case "ERR_JWS_INVALID":
    case "ERR_JWT_INVALID":
      return "it is not a valid JWT";
    default:
      // Stryker disable next-line MethodExpression,StringLiteral: defensive, no reachable jose or fetch message is longer, and jose only throws Errors.
      return err instanceof Error ? err.message.slice(0, 120) : "it could not be verified";
  }
}
