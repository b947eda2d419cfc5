/**
 * JWTs the OpenID Connect suite builds itself, with jose: ID tokens with one defect each, tokens
 * signed "as the provider" (with the key test/helpers/oidc-op.ts holds), `alg: none` tokens built
 * by hand, and the classic HS256 forgery that uses the provider's public key as the HMAC secret.
 */
import { randomBytes } from "node:crypto";
import { SignJWT, decodeJwt, decodeProtectedHeader, generateKeyPair, type CryptoKey, type JWTPayload } from "jose";

export type Claims = JWTPayload & Record<string, unknown>;

/** A private key and the `kid` to put in the header. */
export interface SigningKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
}

/** Signs `claims` as they are (no claim added) with an RS256 key. */
export function signRs256(claims: Claims, key: SigningKey, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ ...header, alg: "RS256", kid: key.kid }).sign(key.privateKey);
}

/** An RS256 key nobody publishes. */
export async function strayKey(kid = `stray-${randomBytes(4).toString("hex")}`): Promise<SigningKey> {
  const { privateKey } = await generateKeyPair("RS256");
  return { kid, privateKey };
}

/** An unsecured JWT (RFC 7519 §6): `{"alg":"none"}`, the claims, an empty signature. */
export function unsecuredJwt(claims: Claims, header: Record<string, unknown> = {}): string {
  const part = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${part({ ...header, alg: "none" })}.${part(claims)}.`;
}

/** HS256 with the bytes of the provider's public key (SPKI PEM) as the HMAC secret. */
export function hs256WithPublicKey(claims: Claims, publicPem: string, kid: string): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: "HS256", kid }).sign(new TextEncoder().encode(publicPem));
}

/** The payload of a JWT, unverified (to rebuild a token from the provider's real one). */
export function claimsOf(jwt: string): Claims {
  return decodeJwt(jwt) as Claims;
}

/** The protected header's `kid`. */
export function kidOf(jwt: string): string | undefined {
  return decodeProtectedHeader(jwt).kid;
}

/** The current time in whole seconds (JWT NumericDate). */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
