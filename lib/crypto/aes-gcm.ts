/**
 * Byte-compatible port of Flet's `flet.security.encrypt_aes_gcm_256` / `decrypt_aes_gcm_256`
 * (behaviour doc §8, vectors/flet-aes-gcm.json):
 *
 *   b64url_padded(salt16 || nonce32 || AES-256-GCM(key, nonce, utf8(text)) || tag16), no associated data
 *   key = ASCII(hex(sha256(b64url_padded(PBKDF2-HMAC-SHA256(utf8(secret), salt, 600 000, 32))))[0:32])
 *
 * The key derivation is Flet's own (see keys.ts); as with `decrypt`, it runs on the thread pool in the
 * async variants, is cached, and is never paid for data too short to be a token.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { assertUnicode } from "../util/unicode.js";
import { decodeBase64UrlLenient, encodeBase64UrlPadded } from "./fernet.js";
import { deriveAesGcmKey, deriveAesGcmKeySync } from "./keys.js";
import {
  decodePlaintext,
  notAuthentic,
  rejected,
  resolveIterations,
  resolveSalt,
  SALT_LEN,
  type SecurityOptions,
} from "./security.js";

/** Options of {@link encryptAesGcm256} and {@link encryptAesGcm256Sync}; `salt` and `nonce` exist for deterministic tests. */
export interface AesGcmEncryptOptions extends SecurityOptions {
  /** 16-byte PBKDF2 salt. @default crypto.randomBytes(16) */
  readonly salt?: Uint8Array;
  /** 32-byte AES-GCM nonce (Flet's size; GCM hashes a nonce longer than 12 bytes into its counter). @default crypto.randomBytes(32) */
  readonly nonce?: Uint8Array;
}

const NONCE_LEN = 32;
const TAG_LEN = 16;
// Flet's output for an empty plaintext: salt, nonce and tag, nothing less decrypts in Python either.
const MIN_LEN = SALT_LEN + NONCE_LEN + TAG_LEN;
const CIPHER = "aes-256-gcm";

interface SealPlan {
  readonly text: string;
  readonly secretKey: string;
  readonly salt: Uint8Array;
  readonly nonce: Uint8Array;
  readonly iterations: number;
}

function planSeal(text: unknown, secretKey: unknown, options: AesGcmEncryptOptions | undefined): SealPlan {
  assertUnicode(text, "text");
  assertUnicode(secretKey, "secretKey");
  const iterations = resolveIterations(options);
  const salt = resolveSalt(options?.salt);
  const nonce = options?.nonce ?? randomBytes(NONCE_LEN);
  if (!(nonce instanceof Uint8Array) || nonce.byteLength !== NONCE_LEN) throw new TypeError("options.nonce must be 32 bytes");
  return { text, secretKey, salt, nonce, iterations };
}

function seal(plan: SealPlan, key: Buffer): string {
  // Stryker disable next-line ObjectLiteral: equivalent, 16 bytes is GCM's default tag length.
  const cipher = createCipheriv(CIPHER, key, plan.nonce, { authTagLength: TAG_LEN });
  const body = Buffer.concat([cipher.update(plan.text, "utf8"), cipher.final()]);
  return encodeBase64UrlPadded(Buffer.concat([plan.salt, plan.nonce, body, cipher.getAuthTag()]));
}

interface OpenPlan {
  readonly secretKey: string;
  readonly salt: Buffer;
  readonly nonce: Buffer;
  readonly body: Buffer;
  readonly tag: Buffer;
  readonly iterations: number;
}

function planOpen(data: unknown, secretKey: unknown, options: SecurityOptions | undefined): OpenPlan {
  if (typeof data !== "string") throw new TypeError("data must be a string");
  assertUnicode(secretKey, "secretKey");
  const iterations = resolveIterations(options);
  // Python's lenient urlsafe_b64decode, as Flet's decrypt_aes_gcm_256 uses it.
  const raw = decodeBase64UrlLenient(data);
  if (raw === undefined) throw rejected("not base64");
  // Refuse data that cannot hold a tag before paying ~0.3 s of PBKDF2 for it (behaviour doc §9 item 10).
  if (raw.length < MIN_LEN) throw rejected("too short for Flet's AES-GCM format");
  return {
    secretKey,
    salt: raw.subarray(0, SALT_LEN),
    nonce: raw.subarray(SALT_LEN, SALT_LEN + NONCE_LEN),
    body: raw.subarray(SALT_LEN + NONCE_LEN, raw.length - TAG_LEN),
    tag: raw.subarray(raw.length - TAG_LEN),
    iterations,
  };
}

function open(plan: OpenPlan, key: Buffer): string {
  // Stryker disable next-line ObjectLiteral: equivalent here (the tag passed is always 16 bytes); kept so a short tag could never be accepted.
  const decipher = createDecipheriv(CIPHER, key, plan.nonce, { authTagLength: TAG_LEN });
  decipher.setAuthTag(plan.tag);
  let plain: Buffer;
  try {
    // final() checks the tag; the plaintext is used only once it has.
    plain = Buffer.concat([decipher.update(plan.body), decipher.final()]);
  } catch (err) {
    throw notAuthentic(plan.iterations, err);
  }
  return decodePlaintext(plain);
}

/**
 * Encrypts `text` like Flet's `flet.security.encrypt_aes_gcm_256`; Flet's `decrypt_aes_gcm_256`
 * reads the result and vice versa. PBKDF2 runs on the libuv thread pool.
 *
 * @example
 * const sealed = await encryptAesGcm256(req.auth.token.toJson(), process.env.MY_APP_SECRET_KEY!);
 */
export async function encryptAesGcm256(text: string, secretKey: string, options?: AesGcmEncryptOptions): Promise<string> {
  const plan = planSeal(text, secretKey, options);
  return seal(plan, await deriveAesGcmKey(plan.secretKey, plan.salt, plan.iterations));
}

/**
 * Decrypts data from {@link encryptAesGcm256} or Flet's `encrypt_aes_gcm_256`. Rejects with
 * `FletAuthError` code `decrypt_failed` for a wrong key, tampered, truncated or foreign data.
 *
 * @example
 * const json = await decryptAesGcm256(sealed, process.env.MY_APP_SECRET_KEY!);
 */
export async function decryptAesGcm256(data: string, secretKey: string, options?: SecurityOptions): Promise<string> {
  const plan = planOpen(data, secretKey, options);
  return open(plan, await deriveAesGcmKey(plan.secretKey, plan.salt, plan.iterations));
}

/**
 * Blocking {@link encryptAesGcm256}, for scripts. Blocks the event loop for the PBKDF2 (~0.3 s).
 *
 * @example
 * console.log(encryptAesGcm256Sync("hello", process.env.MY_APP_SECRET_KEY!));
 */
export function encryptAesGcm256Sync(text: string, secretKey: string, options?: AesGcmEncryptOptions): string {
  const plan = planSeal(text, secretKey, options);
  return seal(plan, deriveAesGcmKeySync(plan.secretKey, plan.salt, plan.iterations));
}

/**
 * Blocking {@link decryptAesGcm256}, for scripts. Throws `FletAuthError` code `decrypt_failed` on bad data.
 *
 * @example
 * const text = decryptAesGcm256Sync(fs.readFileSync("secret.enc", "utf8"), process.env.MY_APP_SECRET_KEY!);
 */
export function decryptAesGcm256Sync(data: string, secretKey: string, options?: SecurityOptions): string {
  const plan = planOpen(data, secretKey, options);
  return open(plan, deriveAesGcmKeySync(plan.secretKey, plan.salt, plan.iterations));
}
