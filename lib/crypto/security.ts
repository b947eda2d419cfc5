/**
 * Byte-compatible port of Flet's `flet.security.encrypt` / `decrypt` (behaviour doc §8):
 *
 *   b64url_padded(salt16 || ASCII(Fernet(PBKDF2-HMAC-SHA256(utf8(secret), salt, 600 000, 32)).encrypt(utf8(text))))
 *
 * Two things Flet lacks (behaviour doc §9 item 10): derivation runs on the libuv thread pool in the
 * async variants, and derived keys are cached per (secret, salt, iterations), so decrypting the same
 * saved blob again costs microseconds instead of ~0.3 s of CPU.
 */
import { createHash, pbkdf2, pbkdf2Sync, randomBytes } from "node:crypto";
import { FletAuthError } from "../errors.js";
import {
  decodeBase64Url,
  encodeBase64UrlPadded,
  fernetDecrypt,
  fernetEncrypt,
  fernetKeyFromBytes,
  isFernetTokenShaped,
  type FernetKey,
} from "./fernet.js";

/** Options of {@link decrypt} and {@link decryptSync}. */
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

// Flet >= 0.27.5 (commit 95ee0b355); behaviour doc §8 "Iteration history".
const DEFAULT_ITERATIONS = 600_000;
const SALT_LEN = 16;
const KEY_LEN = 32;
const CACHE_LIMIT = 256;

// fatal: Python's .decode("utf-8") raises on invalid bytes. ignoreBOM: Python keeps a leading U+FEFF.
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Bounded LRU of derived keys. Entries are keyed by sha256(secret) || salt || iterations, never by the
 * secret itself; a pending derivation is stored as its promise so concurrent callers share it.
 */
class DerivedKeyCache {
  readonly #entries = new Map<string, FernetKey | Promise<FernetKey>>();

  get(id: string): FernetKey | Promise<FernetKey> | undefined {
    const entry = this.#entries.get(id);
    if (entry !== undefined) {
      // Map keeps insertion order: re-inserting marks the entry most recently used.
      this.#entries.delete(id);
      this.#entries.set(id, entry);
    }
    return entry;
  }

  set(id: string, entry: FernetKey | Promise<FernetKey>): void {
    this.#entries.delete(id);
    this.#entries.set(id, entry);
    if (this.#entries.size > CACHE_LIMIT) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
  }

  /** Replaces or drops `id` only if it still holds `expected` (another caller may have moved on). */
  settle(id: string, expected: Promise<FernetKey>, next: FernetKey | undefined): void {
    if (this.#entries.get(id) !== expected) return;
    if (next === undefined) this.#entries.delete(id);
    else this.#entries.set(id, next);
  }

  clear(): void {
    this.#entries.clear();
  }
}

const cache = new DerivedKeyCache();

/** Empties the derived-key cache. Internal: for tests and benchmarks that must pay for PBKDF2. */
export function clearDerivedKeyCache(): void {
  cache.clear();
}

function cacheId(password: Buffer, salt: Uint8Array, iterations: number): string {
  const counter = Buffer.alloc(4);
  counter.writeUInt32BE(iterations);
  return createHash("sha256").update(password).digest("base64") + Buffer.concat([salt, counter]).toString("base64");
}

/** Flet's key: PBKDF2-HMAC-SHA256(utf8(secret), salt, iterations, 32), memoised. Async: libuv thread pool. */
export async function deriveFernetKey(secretKey: string, salt: Uint8Array, iterations: number): Promise<FernetKey> {
  const password = Buffer.from(secretKey, "utf8");
  const id = cacheId(password, salt, iterations);
  const hit = cache.get(id);
  if (hit !== undefined) return hit;
  const pending = new Promise<FernetKey>((resolve, reject) => {
    pbkdf2(password, salt, iterations, KEY_LEN, "sha256", (err, derived) => {
      if (err) reject(err);
      else resolve(fernetKeyFromBytes(derived));
    });
  });
  cache.set(id, pending);
  try {
    const key = await pending;
    cache.settle(id, pending, key);
    return key;
  } catch (err) {
    cache.settle(id, pending, undefined);
    throw err;
  }
}

/** Blocking variant of {@link deriveFernetKey}; shares its cache. */
export function deriveFernetKeySync(secretKey: string, salt: Uint8Array, iterations: number): FernetKey {
  const password = Buffer.from(secretKey, "utf8");
  const id = cacheId(password, salt, iterations);
  const hit = cache.get(id);
  if (hit !== undefined && !(hit instanceof Promise)) return hit;
  const key = fernetKeyFromBytes(pbkdf2Sync(password, salt, iterations, KEY_LEN, "sha256"));
  cache.set(id, key);
  return key;
}

/** Throws a TypeError naming `name` unless `value` is a string that UTF-8 can encode faithfully. */
export function assertUnicode(value: unknown, name: string): asserts value is string {
  if (typeof value !== "string") throw new TypeError(`${name} must be a string`);
  // Python's str.encode("utf-8") raises here; Buffer.from would silently write U+FFFD instead.
  if (LONE_SURROGATE.test(value)) throw new TypeError(`${name} must be valid Unicode (it has a lone surrogate)`);
}

function resolveIterations(options: SecurityOptions | undefined): number {
  if (options !== undefined && (typeof options !== "object" || options === null)) {
    throw new TypeError("options must be an object");
  }
  const iterations = options?.iterations ?? DEFAULT_ITERATIONS;
  // node's pbkdf2 takes a 32-bit signed count.
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > 0x7fffffff) {
    throw new TypeError("options.iterations must be a positive integer");
  }
  return iterations;
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
  const salt = options?.salt ?? randomBytes(SALT_LEN);
  if (!(salt instanceof Uint8Array) || salt.byteLength !== SALT_LEN) throw new TypeError("options.salt must be 16 bytes");
  return { text, secretKey, salt, iterations, options: options ?? {} };
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

function rejected(reason: string): FletAuthError {
  return new FletAuthError("decrypt_failed", `Encrypted data rejected: ${reason}`);
}

function planDecrypt(data: unknown, secretKey: unknown, options: SecurityOptions | undefined): DecryptPlan {
  if (typeof data !== "string") throw new TypeError("data must be a string");
  assertUnicode(secretKey, "secretKey");
  const iterations = resolveIterations(options);
  // Stricter than Python's lenient urlsafe_b64decode (§8 step 1): characters outside the alphabet are
  // rejected rather than skipped. Data Flet wrote never contains any.
  const raw = decodeBase64Url(data);
  if (raw === undefined) throw rejected("not base64url");
  // latin1, not ascii: node's "ascii" decoder drops the high bit, which could turn junk into alphabet.
  const token = raw.subarray(SALT_LEN).toString("latin1");
  // Refuse malformed data before paying ~0.3 s of PBKDF2 for it (behaviour doc §9 item 10).
  if (raw.length <= SALT_LEN || !isFernetTokenShaped(token)) throw rejected("not Flet's format");
  return { secretKey, salt: raw.subarray(0, SALT_LEN), token, iterations };
}

function finishDecrypt(plan: DecryptPlan, key: FernetKey): string {
  // §8 step 4: no TTL, the embedded timestamp is ignored.
  const plain = fernetDecrypt(key, plan.token);
  try {
    return utf8.decode(plain);
  } catch (err) {
    throw new FletAuthError("decrypt_failed", "Encrypted data rejected: plaintext is not UTF-8", { cause: err });
  }
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
 * Decrypts data written by {@link encrypt} or Flet's `flet.security.encrypt`. Rejects with
 * `FletAuthError` code `decrypt_failed` for a wrong key, tampered, truncated or foreign data.
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
