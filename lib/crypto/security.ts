/**
 * Byte-compatible port of Flet's `flet.security.encrypt` / `decrypt` (behaviour doc §8):
 *
 *   b64url_padded(salt16 || ASCII(Fernet(PBKDF2-HMAC-SHA256(utf8(secret), salt, 600 000, 32)).encrypt(utf8(text))))
 *
 * Two things Flet lacks (behaviour doc §9 item 10): derivation runs on the libuv thread pool in the
 * async variants, and derived keys are cached per (secret, salt, iterations), so decrypting the same
 * saved blob again costs microseconds instead of ~0.3 s of CPU.
 */
import { randomBytes } from "node:crypto";
import { FletAuthError } from "../errors.js";
import {
  decodeBase64UrlLenient,
  encodeBase64UrlPadded,
  fernetDecrypt,
  fernetEncrypt,
  isFernetTokenShaped,
  type FernetKey,
} from "./fernet.js";
import { assertUnicode } from "../util/unicode.js";
import { deriveFernetKey, deriveFernetKeySync, PBKDF2_ITERATIONS } from "./keys.js";

/** Options of {@link decrypt} and {@link decryptSync} (and of the AES-GCM pair's decrypt). */
export interface SecurityOptions {
  /**
   * PBKDF2 iterations. Flet used 100 000 until 0.27.4 and 600 000 since 0.27.5; the format carries no
   * marker, so data written by Flet < 0.27.5 only decrypts with `{ iterations: 100_000 }`.
   * @default 600_000
   */
  readonly iterations?: number;
}

/** Options of {@link encrypt} and {@link encryptSync}; `salt`, `iv` and `now` exist for deterministic tests. */
export interface EncryptOptions extends SecurityOptions {
  /** 16-byte PBKDF2 salt. @default crypto.randomBytes(16) */
  readonly salt?: Uint8Array;
  /** 16-byte Fernet IV. @default crypto.randomBytes(16) */
  readonly iv?: Uint8Array;
  /** Fernet timestamp, unix seconds. @default Math.floor(Date.now() / 1000) */
  readonly now?: number;
}

/** PBKDF2 salt length of both of Flet's formats (Fernet and AES-GCM). */
export const SALT_LEN = 16;

// fatal: Python's .decode("utf-8") raises on invalid bytes. ignoreBOM: Python keeps a leading U+FEFF.
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Validates `options` and returns its PBKDF2 iteration count; a TypeError names the bad option. */
export function resolveIterations(options: SecurityOptions | undefined): number {
  if (options !== undefined && (typeof options !== "object" || options === null)) {
    throw new TypeError("options must be an object");
  }
  const iterations = options?.iterations ?? PBKDF2_ITERATIONS;
  // node's pbkdf2 takes a 32-bit signed count.
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > 0x7fffffff) {
    throw new TypeError("options.iterations must be a positive integer");
  }
  return iterations;
}

/** The injected `options.salt`, checked, or 16 random bytes. */
export function resolveSalt(salt: Uint8Array | undefined): Uint8Array {
  const value = salt ?? randomBytes(SALT_LEN);
  if (!(value instanceof Uint8Array) || value.byteLength !== SALT_LEN) throw new TypeError("options.salt must be 16 bytes");
  return value;
}

/** Data refused before any key is derived: no key could make it decrypt. */
export function rejected(reason: string): FletAuthError {
  return new FletAuthError("decrypt_failed", `Encrypted data rejected: ${reason}`);
}

/**
 * Well-formed data that fails authentication. The format carries no iteration count, so data from
 * Flet < 0.27.5 (100 000 iterations) fails exactly like a wrong key; the message names the way out.
 */
export function notAuthentic(iterations: number, cause: unknown): FletAuthError {
  const hint =
    iterations === PBKDF2_ITERATIONS
      ? "or it was made by Flet < 0.27.5, which used 100 000 PBKDF2 iterations: decrypt it with the option { iterations: 100_000 }"
      : `or it was made with another PBKDF2 iteration count than options.iterations (${iterations}); Flet >= 0.27.5 uses 600 000, older Flet 100 000`;
  return new FletAuthError("decrypt_failed", `Encrypted data rejected: the secret key is wrong, the data was altered, ${hint}.`, {
    cause,
  });
}

/** Python's `.decode("utf-8")` of a decrypted plaintext, in both of Flet's formats. */
export function decodePlaintext(plain: Uint8Array): string {
  try {
    return utf8.decode(plain);
  } catch (err) {
    throw new FletAuthError("decrypt_failed", "Encrypted data rejected: plaintext is not UTF-8", { cause: err });
  }
}

interface EncryptPlan {
  readonly text: string;
  readonly secretKey: string;
  readonly salt: Uint8Array;
  readonly iterations: number;
  readonly options: EncryptOptions;
}

function planEncrypt(text: unknown, secretKey: unknown, options: EncryptOptions | undefined): EncryptPlan {
  assertUnicode(text, "text");
  assertUnicode(secretKey, "secretKey");
  const iterations = resolveIterations(options);
  return { text, secretKey, salt: resolveSalt(options?.salt), iterations, options: options ?? {} };
}

function finishEncrypt(plan: EncryptPlan, key: FernetKey): string {
  const token = fernetEncrypt(key, plan.text, { now: plan.options.now, iv: plan.options.iv });
  // §8 step 5: the Fernet token's base64 TEXT is appended, so the payload is base64-encoded twice.
  return encodeBase64UrlPadded(Buffer.concat([plan.salt, Buffer.from(token, "ascii")]));
}

interface DecryptPlan {
  readonly secretKey: string;
  readonly salt: Buffer;
  readonly token: string;
  readonly iterations: number;
}

function planDecrypt(data: unknown, secretKey: unknown, options: SecurityOptions | undefined): DecryptPlan {
  if (typeof data !== "string") throw new TypeError("data must be a string");
  assertUnicode(secretKey, "secretKey");
  const iterations = resolveIterations(options);
  // §8 step 1: Python's lenient urlsafe_b64decode, so a saved token that picked up line breaks,
  // spaces, the standard alphabet or extra padding in a file, a variable or an e-mail still reads.
  const raw = decodeBase64UrlLenient(data);
  if (raw === undefined) throw rejected("not base64");
  // cryptography's Fernet.decrypt decodes its token just as leniently. Re-encoding the bytes it sees
  // hands the strict Fernet module the same token, so both layers accept what Flet accepts.
  // Data no longer than the salt leaves nothing, which is not token-shaped: refused below.
  const inner = decodeBase64UrlLenient(raw.subarray(SALT_LEN));
  const token = inner === undefined ? undefined : encodeBase64UrlPadded(inner);
  // Refuse malformed data before paying ~0.3 s of PBKDF2 for it (behaviour doc §9 item 10). The check
  // is exact: what fails it (version, whole blocks) fails in Python too, whatever the key.
  if (token === undefined || !isFernetTokenShaped(token)) throw rejected("not Flet's format");
  return { secretKey, salt: raw.subarray(0, SALT_LEN), token, iterations };
}

function finishDecrypt(plan: DecryptPlan, key: FernetKey): string {
  let plain: Buffer;
  try {
    // §8 step 4: no TTL, the embedded timestamp is ignored.
    plain = fernetDecrypt(key, plan.token);
  } catch (err) {
    // The shape was checked, so what fails here is the MAC (or, with a valid MAC, the padding).
    throw notAuthentic(plan.iterations, err);
  }
  return decodePlaintext(plain);
}

/**
 * Encrypts `text` with a key derived from `secretKey`, exactly like Flet's `flet.security.encrypt`;
 * Flet's `decrypt` reads the result and vice versa. PBKDF2 runs on the libuv thread pool.
 *
 * @example
 * // "Remember me": encrypt the token JSON before storing it on the client.
 * const saved = await encrypt(req.auth.token.toJson(), process.env.MY_APP_SECRET_KEY!);
 */
export async function encrypt(text: string, secretKey: string, options?: EncryptOptions): Promise<string> {
  const plan = planEncrypt(text, secretKey, options);
  return finishEncrypt(plan, await deriveFernetKey(plan.secretKey, plan.salt, plan.iterations));
}

/**
 * Decrypts data written by {@link encrypt} or Flet's `flet.security.encrypt`. Reads what Flet reads:
 * line breaks, spaces, the standard base64 alphabet and surplus padding are ignored (Python's
 * lenient base64), and so is missing padding. Rejects with `FletAuthError` code `decrypt_failed`
 * for a wrong key, tampered, truncated or foreign data.
 *
 * @example
 * const json = await decrypt(req.cookies.saved_token, process.env.MY_APP_SECRET_KEY!);
 */
export async function decrypt(data: string, secretKey: string, options?: SecurityOptions): Promise<string> {
  const plan = planDecrypt(data, secretKey, options);
  return finishDecrypt(plan, await deriveFernetKey(plan.secretKey, plan.salt, plan.iterations));
}

/**
 * Blocking {@link encrypt}, for scripts. Blocks the event loop for the PBKDF2 (~0.3 s); avoid in servers.
 *
 * @example
 * console.log(encryptSync(fs.readFileSync("token.json", "utf8"), process.env.MY_APP_SECRET_KEY!));
 */
export function encryptSync(text: string, secretKey: string, options?: EncryptOptions): string {
  const plan = planEncrypt(text, secretKey, options);
  return finishEncrypt(plan, deriveFernetKeySync(plan.secretKey, plan.salt, plan.iterations));
}

/**
 * Blocking {@link decrypt}, for scripts. Throws `FletAuthError` code `decrypt_failed` on bad data.
 *
 * @example
 * const json = decryptSync(fs.readFileSync("token.enc", "utf8"), process.env.MY_APP_SECRET_KEY!);
 */
export function decryptSync(data: string, secretKey: string, options?: SecurityOptions): string {
  const plan = planDecrypt(data, secretKey, options);
  return finishDecrypt(plan, deriveFernetKeySync(plan.secretKey, plan.salt, plan.iterations));
}
