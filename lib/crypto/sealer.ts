/**
 * Sealing of tokens at rest (session store, remember-me cookie). Unlike Flet's encrypt, which runs
 * PBKDF2 per call with a random salt (behaviour doc §9 item 10), a sealer derives each secret's
 * Fernet key once, with a salt fixed by its purpose, so seal/open cost microseconds and forged input
 * can never make the server pay for a key derivation. Secrets are a list for rotation (checklist 26).
 */
import { createHash } from "node:crypto";
import { assertUnicode } from "../util/unicode.js";
import { fernetDecrypt, fernetEncrypt, fernetKeyFromBytes, isFernetTokenShaped, type FernetKey } from "./fernet.js";
import { deriveFernetKey, PBKDF2_ITERATIONS } from "./keys.js";
import { secretList } from "./secrets.js";

/** Seals strings into Fernet tokens and opens them again. */
export interface Sealer {
  /** Encrypts and signs `text` with the first secret's key. */
  seal(text: string): Promise<string>;
  /**
   * The sealed text, or `undefined` when `data` was not sealed by any of the secrets (forged, truncated,
   * garbage, not a string) or is older than `ttlSeconds`. Never rejects because of `data`.
   */
  open(data: string, options?: { ttlSeconds?: number }): Promise<string | undefined>;
  /** Derives every secret's key now instead of on first use (e.g. at server start). */
  ready(): Promise<void>;
}

/** Derives 32 key bytes; the default is PBKDF2-HMAC-SHA256 on the libuv thread pool. */
export type DeriveKey = (secret: string, salt: Uint8Array, iterations: number) => Promise<Uint8Array>;

/** Options of {@link createSealer}. */
export interface SealerOptions {
  /** PBKDF2 iterations. @default 600_000 */
  readonly iterations?: number;
  /** Clock in milliseconds, for Fernet timestamps and TTLs. @default Date.now */
  readonly now?: () => number;
  /** Key derivation, injectable so tests can count derivations. @default PBKDF2-HMAC-SHA256, 32 bytes, through the shared key cache */
  readonly derive?: DeriveKey;
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** A per-purpose salt: sealers for different purposes never share keys, even with the same secret. */
function purposeSalt(purpose: string): Buffer {
  return createHash("sha256").update(`flet-auth:${purpose}`, "utf8").digest().subarray(0, 16);
}

/**
 * Creates a {@link Sealer} for `purpose` (e.g. `"session-token"`, `"remember-me"`). The first secret
 * seals; every secret opens, so a new secret can be prepended while old data still opens.
 *
 * @example
 * const sealer = createSealer([process.env.NEW_SECRET!, process.env.OLD_SECRET!], "remember-me");
 * const cookie = await sealer.seal(token.toJson());
 * const json = await sealer.open(cookie, { ttlSeconds: 30 * 24 * 3600 }); // undefined if forged or stale
 */
export function createSealer(
  secrets: string | readonly string[],
  purpose: string,
  options: SealerOptions = {},
): Sealer {
  const list = secretList("secrets", secrets, 1);
  if (typeof purpose !== "string" || purpose.length === 0) throw new TypeError("purpose must be a non-empty string");
  const iterations = options.iterations ?? PBKDF2_ITERATIONS;
  if (!Number.isInteger(iterations) || iterations < 1) throw new TypeError("options.iterations must be a positive integer");
  const clock = options.now ?? Date.now;
  const derive = options.derive;
  if (typeof clock !== "function") throw new TypeError("options.now must be a function returning milliseconds");
  if (derive !== undefined && typeof derive !== "function") throw new TypeError("options.derive must be a function");
  const salt = purposeSalt(purpose);

  // One slot per secret: the derived key once known, else the single in-flight derivation.
  const keys: (FernetKey | undefined)[] = list.map(() => undefined);
  const pending: (Promise<FernetKey> | undefined)[] = list.map(() => undefined);

  function keyAt(i: number): FernetKey | Promise<FernetKey> {
    const known = keys[i];
    if (known !== undefined) return known;
    let inFlight = pending[i];
    if (inFlight === undefined) {
      const secret = list[i] as string;
      inFlight = Promise.resolve()
        .then(async () => (derive ? fernetKeyFromBytes(await derive(secret, salt, iterations)) : deriveFernetKey(secret, salt, iterations)))
        .then((key) => (keys[i] = key))
        // A failed derivation is not memoised: the next call tries again.
        .finally(() => (pending[i] = undefined));
      pending[i] = inFlight;
    }
    return inFlight;
  }

  const seconds = (): number => Math.floor(clock() / 1000);

  return Object.freeze({
    async seal(text: string): Promise<string> {
      assertUnicode(text, "text");
      return fernetEncrypt(await keyAt(0), text, { now: seconds() });
    },

    async open(data: string, openOptions?: { ttlSeconds?: number }): Promise<string | undefined> {
      const ttlSeconds = openOptions?.ttlSeconds;
      if (ttlSeconds !== undefined && (!Number.isFinite(ttlSeconds) || ttlSeconds < 0)) {
        throw new TypeError("options.ttlSeconds must be a non-negative number");
      }
      // Garbage is refused before any key is derived.
      // Stryker disable next-line ConditionalExpression: equivalent, isFernetTokenShaped refuses non-strings too.
      if (typeof data !== "string" || !isFernetTokenShaped(data)) return undefined;
      const now = ttlSeconds === undefined ? undefined : seconds();
      for (let i = 0; i < list.length; i++) {
        const slot = keyAt(i);
        // Skips the microtask an await of a known key would still cost on this hot path.
        const key = slot instanceof Promise ? await slot : slot;
        try {
          return utf8.decode(fernetDecrypt(key, data, { ttlSeconds, now }));
        } catch {
          // Not this key (or stale, or not UTF-8): try the next secret.
        }
      }
      return undefined;
    },

    async ready(): Promise<void> {
      await Promise.all(list.map((_, i) => keyAt(i)));
    },
  });
}
