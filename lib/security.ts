/**
 * `flet-auth/security`: Flet-compatible `encrypt` / `decrypt` for saving auth tokens on the client
 * ("Remember me"). Data encrypted here decrypts in Python with `flet.security.decrypt` and vice versa;
 * `encryptAesGcm256` / `decryptAesGcm256` do the same for Flet's AES-GCM pair.
 *
 * @example
 * import { encrypt, decrypt } from "flet-auth/security";
 *
 * const secretKey = process.env.MY_APP_SECRET_KEY!;
 * // Save: encrypt the token JSON before it leaves the server.
 * res.cookie("myapp.auth_token", await encrypt(req.auth.token.toJson(), secretKey), { httpOnly: true });
 * // Restore: decrypt it on the next visit and log in with it.
 * const savedToken = await decrypt(req.cookies["myapp.auth_token"], secretKey);
 *
 * @module flet-auth/security
 * @packageDocumentation
 */

/**
 * Encrypts text like Flet's `flet.security.encrypt`; PBKDF2 runs off the event loop.
 *
 * @example
 * const ejt = await encrypt(req.auth.token.toJson(), secretKey);
 */
export { encrypt } from "./crypto/security.js";

/**
 * Decrypts data from {@link encrypt} or Flet; rejects with `FletAuthError` code `decrypt_failed`.
 * Like Flet, it ignores line breaks, spaces, the standard base64 alphabet and extra padding.
 *
 * @example
 * const jt = await decrypt(ejt, secretKey); // pass { iterations: 100_000 } for data from Flet < 0.27.5
 */
export { decrypt } from "./crypto/security.js";

/**
 * Blocking `encrypt`, for scripts and CLIs; blocks the event loop for the key derivation.
 *
 * @example
 * const ejt = encryptSync(tokenJson, secretKey);
 */
export { encryptSync } from "./crypto/security.js";

/**
 * Blocking `decrypt`, for scripts and CLIs; throws `FletAuthError` code `decrypt_failed`.
 *
 * @example
 * const jt = decryptSync(ejt, secretKey);
 */
export { decryptSync } from "./crypto/security.js";

/**
 * Options of `decrypt` / `decryptSync` (PBKDF2 `iterations`, default 600 000).
 *
 * @example
 * await decrypt(oldData, secretKey, { iterations: 100_000 } satisfies SecurityOptions);
 */
export type { SecurityOptions } from "./crypto/security.js";

/**
 * Options of `encrypt` / `encryptSync`: `iterations`, plus `salt`, `iv` and `now` for deterministic tests.
 *
 * @example
 * await encrypt("hello", secretKey, { salt: fixedSalt, iv: fixedIv, now: 1767225600 } satisfies EncryptOptions);
 */
export type { EncryptOptions } from "./crypto/security.js";

/**
 * Encrypts text like Flet's `flet.security.encrypt_aes_gcm_256` (AES-256-GCM, Flet's key derivation);
 * PBKDF2 runs off the event loop.
 *
 * @example
 * const sealed = await encryptAesGcm256("for a Flet app's decrypt_aes_gcm_256", secretKey);
 */
export { encryptAesGcm256 } from "./crypto/aes-gcm.js";

/**
 * Decrypts data from `encryptAesGcm256` or Flet's `encrypt_aes_gcm_256`; rejects with `FletAuthError`
 * code `decrypt_failed`. Accepts the same loosely formatted base64 as `decrypt`.
 *
 * @example
 * const text = await decryptAesGcm256(sealed, secretKey); // { iterations: 100_000 } for Flet < 0.27.5
 */
export { decryptAesGcm256 } from "./crypto/aes-gcm.js";

/**
 * Blocking `encryptAesGcm256`, for scripts and CLIs; blocks the event loop for the key derivation.
 *
 * @example
 * const sealed = encryptAesGcm256Sync(text, secretKey);
 */
export { encryptAesGcm256Sync } from "./crypto/aes-gcm.js";

/**
 * Blocking `decryptAesGcm256`, for scripts and CLIs; throws `FletAuthError` code `decrypt_failed`.
 *
 * @example
 * const text = decryptAesGcm256Sync(sealed, secretKey);
 */
export { decryptAesGcm256Sync } from "./crypto/aes-gcm.js";

/**
 * Options of `encryptAesGcm256` / `encryptAesGcm256Sync`: `iterations`, plus `salt` (16 bytes) and
 * `nonce` (32 bytes) for deterministic tests.
 *
 * @example
 * await encryptAesGcm256("hello", secretKey, { salt: fixedSalt, nonce: fixedNonce } satisfies AesGcmEncryptOptions);
 */
export type { AesGcmEncryptOptions } from "./crypto/aes-gcm.js";

/**
 * The error class of flet-auth; a failed decrypt carries code `decrypt_failed`.
 *
 * @example
 * try { await decrypt(ejt, secretKey); } catch (err) { if (err instanceof FletAuthError) forgetSavedToken(); }
 */
export { FletAuthError } from "./errors.js";

/**
 * True when `err` is a `FletAuthError`, optionally with the given code.
 *
 * @example
 * const jt = await decrypt(ejt, secretKey).catch((err) => (isFletAuthError(err, "decrypt_failed") ? undefined : Promise.reject(err)));
 */
export { isFletAuthError } from "./errors.js";
