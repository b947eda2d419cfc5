/**
 * Fernet tokens exactly as the spec defines them (https://github.com/fernet/spec/blob/master/Spec.md):
 *
 *   0x80 | u64be(timestamp) | iv(16) | AES-128-CBC(PKCS7(message)) | HMAC-SHA256(signing key, all previous)
 *
 * base64url with `=` padding. Interoperates with Python's `cryptography.fernet.Fernet`, which
 * `flet.security` uses. node:crypto only.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { FletAuthError } from "../errors.js";

/** A Fernet key split into its two halves (spec "Key Format"). */
export interface FernetKey {
  /** Bytes 0–15: the HMAC-SHA256 signing key. */
  readonly signingKey: Buffer;
  /** Bytes 16–31: the AES-128-CBC encryption key. */
  readonly encryptionKey: Buffer;
}

/** Options of {@link fernetEncrypt}; both are injectable so the spec vectors can be reproduced. */
export interface FernetEncryptOptions {
  /** Token timestamp, unix seconds. @default Math.floor(Date.now() / 1000) */
  readonly now?: number;
  /** 16-byte IV. @default crypto.randomBytes(16) */
  readonly iv?: Uint8Array;
}

/** Options of {@link fernetDecrypt}. */
export interface FernetDecryptOptions {
  /** Maximum token age in seconds; without it the timestamp is not checked (as Flet's decrypt). */
  readonly ttlSeconds?: number;
  /** Current time, unix seconds. @default Math.floor(Date.now() / 1000) */
  readonly now?: number;
  /** How far in the future a timestamp may be when `ttlSeconds` is given. @default 60 */
  readonly maxClockSkewSeconds?: number;
}

const VERSION = 0x80;
const BLOCK = 16;
const HMAC_LEN = 32;
// version(1) + timestamp(8) + iv(16)
const HEADER_LEN = 1 + 8 + BLOCK;
// Python's cryptography uses the same 60 s skew allowance (_MAX_CLOCK_SKEW).
const DEFAULT_MAX_CLOCK_SKEW = 60;

const BASE64URL_BODY = /^[A-Za-z0-9_-]*$/;

/**
 * Strict base64url decoding. Buffer.from(…, "base64url") silently skips characters outside the
 * alphabet; the spec's invalid.json expects such a token ("invalid base64") to be rejected, so the
 * alphabet and the length are checked first. Padding is optional, but when present it must be complete.
 */
export function decodeBase64Url(text: string): Buffer | undefined {
  let end = text.length;
  // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent (docs/testing.md): charCodeAt(-1) is NaN, and a third "=" leaves a refused length.
  while (end > 0 && text.charCodeAt(end - 1) === 0x3d /* = */ && text.length - end < 2) end--;
  const body = text.slice(0, end);
  const padding = text.length - end;
  const rem = body.length % 4;
  if (rem === 1 || !BASE64URL_BODY.test(body)) return undefined;
  if (padding > 0 && (body.length + padding) % 4 !== 0) return undefined;
  return Buffer.from(body, "base64url");
}

// Python's urlsafe_b64decode maps "-_" to "+/" and then decodes the standard alphabet, so both count.
const LENIENT_SEXTETS = (() => {
  const table = new Int8Array(128).fill(-1);
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  // Stryker disable next-line EqualityOperator: equivalent, table[NaN] = i is a no-op on a typed array.
  for (let i = 0; i < alphabet.length; i++) table[alphabet.charCodeAt(i)] = i;
  table[0x2b /* + */] = table[0x2d /* - */] = 62;
  table[0x2f /* / */] = table[0x5f /* _ */] = 63;
  return table;
})();

// eslint-disable-next-line no-control-regex -- the whole ASCII range, control characters included, is allowed.
const NON_ASCII = /[^\x00-\x7f]/;

/** Options of {@link decodeBase64UrlLenient}. */
export interface LenientDecodeOptions {
  /**
   * Refuse a final quantum of two or three characters without its `=` padding, as Python does
   * (`binascii.Error: Incorrect padding`). Off by default: flet-auth has always read Flet's output
   * with its padding stripped (URLs and cookies lose it), and the bytes are the same either way.
   * @default false
   */
  readonly strictPadding?: boolean;
}

/**
 * Python's `base64.urlsafe_b64decode`, which Flet's decrypt and cryptography's Fernet both use: a port
 * of CPython's non-strict `binascii.a2b_base64`. Characters outside the alphabet (line breaks, spaces)
 * are skipped; `=` before the third character of a quantum is skipped; the padding that completes a
 * quantum ends the input, so surplus padding and anything after it are ignored. Undefined where
 * Python raises: a final quantum of one character (and, with `strictPadding`, of two or three without
 * padding), or a string that is not ASCII (Python's `ValueError` for `str` input). Bytes may hold
 * anything; those outside the alphabet are skipped like any other.
 */
export function decodeBase64UrlLenient(input: string | Uint8Array, options: LenientDecodeOptions = {}): Buffer | undefined {
  if (typeof input === "string" && NON_ASCII.test(input)) return undefined;
  const length = input.length;
  const codeAt = typeof input === "string" ? (i: number) => input.charCodeAt(i) : (i: number) => input[i] ?? 0;
  const out = Buffer.allocUnsafe(Math.ceil((length * 3) / 4));
  let written = 0;
  let quad = 0;
  let carry = 0;
  let pads = 0;
  // Stryker disable next-line EqualityOperator: equivalent, the read past the end (NaN or 0) is skipped as a non-base64 character.
  for (let i = 0; i < length; i++) {
    const code = codeAt(i);
    if (code === 0x3d /* = */) {
      // Padding counts only from the third character of a quantum on; the pad that fills the quantum ends the input.
      if (quad >= 2 && quad + ++pads >= 4) return out.subarray(0, written);
      continue;
    }
    // Past the table (code > 0x7f) the read is undefined: not a base64 character either.
    const sextet = LENIENT_SEXTETS[code] ?? -1;
    if (sextet < 0) continue;
    pads = 0;
    if (quad === 0) carry = sextet;
    else if (quad === 1) {
      out[written++] = (carry << 2) | (sextet >> 4);
      carry = sextet & 0x0f;
    } else if (quad === 2) {
      out[written++] = (carry << 4) | (sextet >> 2);
      carry = sextet & 0x03;
    } else out[written++] = (carry << 6) | sextet;
    quad = (quad + 1) % 4;
  }
  // Python: one leftover character is "cannot be 1 more than a multiple of 4", two or three "Incorrect padding".
  if (quad === 1 || (quad !== 0 && options.strictPadding === true)) return undefined;
  return out.subarray(0, written);
}

/** base64url WITH `=` padding, as the spec and Python's urlsafe_b64encode produce. */
export function encodeBase64UrlPadded(data: Uint8Array): string {
  const b64 = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("base64");
  return b64.replace(/\+/g, "-").replace(/\//g, "_");
}

/** Splits 32 raw key bytes: 0–15 signing, 16–31 encryption (spec "Key Format"). The bytes are copied. */
export function fernetKeyFromBytes(raw: Uint8Array): FernetKey {
  if (!(raw instanceof Uint8Array) || raw.byteLength !== 32) {
    throw new TypeError("Fernet key must be 32 bytes (16 signing + 16 encryption)");
  }
  const copy = Buffer.from(raw);
  return Object.freeze({ signingKey: copy.subarray(0, 16), encryptionKey: copy.subarray(16, 32) });
}

/** Parses a base64url Fernet key (44 characters, as `Fernet.generate_key()` prints). */
export function parseFernetKey(base64url: string): FernetKey {
  const raw = typeof base64url === "string" ? decodeBase64Url(base64url) : undefined;
  // The message names the expected shape only: a key must never end up in logs.
  if (raw === undefined || raw.length !== 32) {
    throw new TypeError("Fernet key must be a base64url string of 32 bytes");
  }
  return fernetKeyFromBytes(raw);
}

function assertKey(key: FernetKey): void {
  if (
    typeof key !== "object" ||
    key === null ||
    !Buffer.isBuffer(key.signingKey) ||
    !Buffer.isBuffer(key.encryptionKey) ||
    key.signingKey.length !== 16 ||
    key.encryptionKey.length !== 16
  ) {
    throw new TypeError("key must be a FernetKey (use fernetKeyFromBytes or parseFernetKey)");
  }
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

function sign(key: FernetKey, data: Uint8Array): Buffer {
  return createHmac("sha256", key.signingKey).update(data).digest();
}

/** Encrypts `plaintext` (strings as UTF-8) into a Fernet token. */
export function fernetEncrypt(
  key: FernetKey,
  plaintext: string | Uint8Array,
  options: FernetEncryptOptions = {},
): string {
  assertKey(key);
  const message =
    typeof plaintext === "string"
      ? Buffer.from(plaintext, "utf8")
      : plaintext instanceof Uint8Array
        ? plaintext
        : undefined;
  if (message === undefined) throw new TypeError("plaintext must be a string or a Uint8Array");
  const now = options.now ?? nowSeconds();
  if (!Number.isSafeInteger(now) || now < 0) throw new TypeError("options.now must be a non-negative integer (unix seconds)");
  const iv = options.iv ?? randomBytes(BLOCK);
  if (!(iv instanceof Uint8Array) || iv.byteLength !== BLOCK) throw new TypeError("options.iv must be 16 bytes");

  const header = Buffer.alloc(HEADER_LEN);
  header[0] = VERSION;
  header.writeBigUInt64BE(BigInt(now), 1);
  header.set(iv, 9);
  // Spec "Generating" step 3: PKCS#7 padding (node's default autoPadding), then AES-128-CBC.
  const cipher = createCipheriv("aes-128-cbc", key.encryptionKey, iv);
  const body = Buffer.concat([header, cipher.update(message), cipher.final()]);
  return encodeBase64UrlPadded(Buffer.concat([body, sign(key, body)]));
}

function fail(reason: string): FletAuthError {
  // Reasons describe the token only; key bytes and plaintext never appear in messages.
  return new FletAuthError("decrypt_failed", `Fernet token rejected: ${reason}`);
}

/** Decodes a token and checks its framing; returns the reason when it is malformed. */
function decodeToken(token: unknown): Buffer | string {
  if (typeof token !== "string") return "not a string";
  const data = decodeBase64Url(token);
  if (data === undefined) return "not base64url";
  // The ciphertext must hold at least one whole block, and only whole blocks (CBC).
  const cipherLen = data.length - HEADER_LEN - HMAC_LEN;
  if (cipherLen < BLOCK || cipherLen % BLOCK !== 0) return "bad length";
  if (data[0] !== VERSION) return "unknown version";
  return data;
}

/**
 * True when `token` is framed like a Fernet token (base64url, version, whole blocks). Says nothing
 * about authenticity; lets callers refuse garbage before paying for an expensive key derivation.
 */
export function isFernetTokenShaped(token: string): boolean {
  return typeof decodeToken(token) !== "string";
}

/**
 * Verifies and decrypts a Fernet token (spec "Verifying", steps 1–7). Every failure throws
 * `FletAuthError("decrypt_failed")`; the HMAC is checked, in constant time, before anything is decrypted.
 */
export function fernetDecrypt(key: FernetKey, token: string, options: FernetDecryptOptions = {}): Buffer {
  assertKey(key);
  const age = options.ttlSeconds === undefined ? undefined : ageLimits(options);
  const data = decodeToken(token);
  if (typeof data === "string") throw fail(data);

  const signed = data.subarray(0, data.length - HMAC_LEN);
  // timingSafeEqual: a byte-wise compare would leak how much of a forged MAC is right.
  if (!timingSafeEqual(sign(key, signed), data.subarray(data.length - HMAC_LEN))) throw fail("bad signature");

  // Spec step 3 (age) runs here, after the MAC rather than before it: same verdict, but the
  // timestamp is only looked at once it is known to be authentic.
  if (age !== undefined) checkAge(data.readBigUInt64BE(1), age);

  try {
    const decipher = createDecipheriv("aes-128-cbc", key.encryptionKey, data.subarray(9, HEADER_LEN));
    return Buffer.concat([decipher.update(data.subarray(HEADER_LEN, signed.length)), decipher.final()]);
  } catch {
    // Only reachable with a valid MAC, i.e. a token made with this key but bad padding (spec invalid vectors).
    throw fail("bad padding");
  }
}

interface AgeLimits {
  readonly ttl: number;
  readonly now: number;
  readonly skew: number;
}

/** Validates the TTL options up front, so a caller's mistake surfaces even for a garbage token. */
function ageLimits(options: FernetDecryptOptions): AgeLimits {
  const ttl = options.ttlSeconds ?? 0;
  const now = options.now ?? nowSeconds();
  const skew = options.maxClockSkewSeconds ?? DEFAULT_MAX_CLOCK_SKEW;
  if (!Number.isFinite(ttl) || ttl < 0) throw new TypeError("options.ttlSeconds must be a non-negative number");
  if (!Number.isFinite(now)) throw new TypeError("options.now must be a number (unix seconds)");
  if (!Number.isFinite(skew) || skew < 0) {
    throw new TypeError("options.maxClockSkewSeconds must be a non-negative number");
  }
  return { ttl, now, skew };
}

/**
 * Spec "Verifying" step 3: reject a token older than the TTL. A token stamped too far in the future is
 * rejected too, as the spec's invalid.json ("far-future TS") and Python's cryptography require.
 */
function checkAge(stamp: bigint, { ttl, now, skew }: AgeLimits): void {
  // Number() of a u64 may round above 2^53; such a stamp is far in the future either way.
  const timestamp = Number(stamp);
  // Same inequalities as cryptography.fernet: expired when timestamp + ttl < now.
  if (timestamp + ttl < now) throw fail("expired");
  if (now + skew < timestamp) throw fail("timestamp in the future");
}
