/**
 * Key derivation, one path for everything flet-auth derives: PBKDF2 for passphrases (Flet's
 * `encrypt`/`decrypt`, its AES-GCM variant and the remember-me key, one bounded cache for all) and
 * HKDF for machine secrets (the session-token key).
 */
import { createHash, hkdf, pbkdf2, pbkdf2Sync } from "node:crypto";
import { encodeBase64UrlPadded, fernetKeyFromBytes, type FernetKey } from "./fernet.js";

/** Flet >= 0.27.5 (commit 95ee0b355); behaviour doc §8 "Iteration history". Flet < 0.27.5 used 100 000. */
export const PBKDF2_ITERATIONS = 600_000;
const KEY_LEN = 32;
const CACHE_LIMIT = 256;

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

/**
 * Flet's `encrypt_aes_gcm_256` key (behaviour doc §8): the ASCII bytes of the first 32 hex digits of
 * sha256(b64url_padded(PBKDF2 key)). 32 bytes select AES-256, but hex digits carry only 128 bits;
 * kept as is, since any other key would not read Flet's data. The PBKDF2 key is the very one
 * {@link deriveFernetKey} caches, so both formats share one derivation per (secret, salt, iterations).
 */
function aesGcmKeyOf(key: FernetKey): Buffer {
  const fernetKeyText = encodeBase64UrlPadded(Buffer.concat([key.signingKey, key.encryptionKey]));
  return Buffer.from(createHash("sha256").update(fernetKeyText, "ascii").digest("hex").slice(0, 32), "ascii");
}

/** The AES-256-GCM key of Flet's `encrypt_aes_gcm_256` for `secretKey` and `salt`. Async: libuv thread pool. */
export async function deriveAesGcmKey(secretKey: string, salt: Uint8Array, iterations: number): Promise<Buffer> {
  return aesGcmKeyOf(await deriveFernetKey(secretKey, salt, iterations));
}

/** Blocking variant of {@link deriveAesGcmKey}; shares the cache. */
export function deriveAesGcmKeySync(secretKey: string, salt: Uint8Array, iterations: number): Buffer {
  return aesGcmKeyOf(deriveFernetKeySync(secretKey, salt, iterations));
}

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
