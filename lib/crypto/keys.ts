import { hkdf } from "node:crypto";

/**
 * Key derivation for machine secrets (the session secret, at least 32 characters): HKDF-SHA256
 * (RFC 5869) is instant, unlike PBKDF2, which exists to stretch human passphrases and costs
 * ~0.3 s per derivation. Signature of the sealer's `derive` option.
 */
export function hkdfKey(secret: string, salt: Uint8Array): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    hkdf("sha256", secret, salt, "flet-auth session tokens", 32, (err, key) => (err ? reject(err) : resolve(new Uint8Array(key))));
  });
}
