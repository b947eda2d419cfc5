import { createHash, randomBytes as nodeRandomBytes } from "node:crypto";

/**
 * Randomness source: returns `size` cryptographically strong random bytes. Injectable for tests.
 *
 * @example
 * fletAuth({ providers, secret, randomBytes: (size) => new Uint8Array(size).fill(7) }); // tests only
 */
export type RandomBytes = (size: number) => Uint8Array;

export const defaultRandomBytes: RandomBytes = (size) => nodeRandomBytes(size);

/** 32 random bytes (256 bits) as unpadded base64url: a state value well above RFC 9700 §2.1's 128-bit floor. */
export function createState(random: RandomBytes): string {
  return Buffer.from(random(32)).toString("base64url");
}

/** A PKCE pair (RFC 7636): a 43-character verifier from 32 random bytes (§4.1) and its S256 challenge (§4.2). */
export function createPkce(random: RandomBytes): { verifier: string; challenge: string } {
  const verifier = Buffer.from(random(32)).toString("base64url");
  return { verifier, challenge: s256(verifier) };
}

/** RFC 7636 §4.2: BASE64URL(SHA256(ASCII(code_verifier))). */
export function s256(verifier: string): string {
  return createHash("sha256").update(verifier, "ascii").digest("base64url");
}
