/**
 * The edges of lib/crypto/fernet.ts that the spec vectors do not reach: strict base64url (padding
 * optional, but complete when present), token framing (version 0x80, whole AES blocks), the
 * key and option checks (a malformed key or clock is refused, never used), and the default
 * timestamp.
 */
import { createCipheriv, createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { isFletAuthError } from "../../../lib/errors.js";
import {
  decodeBase64Url,
  decodeBase64UrlLenient,
  encodeBase64UrlPadded,
  fernetDecrypt,
  fernetEncrypt,
  fernetKeyFromBytes,
  isFernetTokenShaped,
  parseFernetKey,
  type FernetKey,
} from "../../../lib/crypto/fernet.js";

const KEY = fernetKeyFromBytes(Buffer.alloc(32, 7));
const NOW = 1_900_000_000;

/** The reason of a decrypt_failed error (`Fernet token rejected: <reason>`). */
function rejection(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    expect(isFletAuthError(err, "decrypt_failed"), String(err)).toBe(true);
    return (err as Error).message;
  }
  throw new Error("expected decrypt_failed");
}

/** A token signed with KEY by hand: `version`, and `cipherBytes` of ciphertext (no padding check possible). */
function handMade(version: number, cipherBytes: number): string {
  const header = Buffer.alloc(25);
  header[0] = version;
  header.writeBigUInt64BE(BigInt(NOW), 1);
  const body = Buffer.concat([header, Buffer.alloc(cipherBytes, 1)]);
  const mac = createHmac("sha256", KEY.signingKey).update(body).digest();
  return encodeBase64UrlPadded(Buffer.concat([body, mac]));
}

/** A valid token whose version byte is `version`, MAC recomputed: only the version is wrong. */
function withVersion(version: number): string {
  const iv = Buffer.alloc(16, 3);
  const header = Buffer.alloc(25);
  header[0] = version;
  header.writeBigUInt64BE(BigInt(NOW), 1);
  header.set(iv, 9);
  const cipher = createCipheriv("aes-128-cbc", KEY.encryptionKey, iv);
  const body = Buffer.concat([header, cipher.update("hello"), cipher.final()]);
  const mac = createHmac("sha256", KEY.signingKey).update(body).digest();
  return encodeBase64UrlPadded(Buffer.concat([body, mac]));
}

describe("decodeBase64Url: padding is optional, but complete when present", () => {
  it.each([
    ["AA", "00" as string | null],
    ["AA==", "00"],
    ["AAA", "0000"],
    ["AAA=", "0000"],
    ["AAAA", "000000"],
    ["", ""],
  ])("%j decodes to %s", (text, hex) => {
    expect(decodeBase64Url(text)?.toString("hex") ?? null).toBe(hex);
  });

  it.each([
    ["AAA==", "one = too many"],
    ["AA=", "one = missing"],
    ["AA======", "padding beyond the quantum"],
    ["AAAA=", "padding after a whole quantum"],
    ["AAAAA", "one character left over"],
    ["A", "one character alone"],
    ["A===", "padding after one character"],
  ])("%j is refused (%s)", (text) => {
    expect(decodeBase64Url(text)).toBeUndefined();
  });
});

describe("decodeBase64UrlLenient (Python's non-strict a2b_base64)", () => {
  it("padding before the third character of a quantum never ends the input: ====YQ== is 'a', as in Python", () => {
    expect(decodeBase64UrlLenient("====YQ==")?.toString("hex")).toBe("61");
    expect(decodeBase64UrlLenient("AAAA====AAAA")?.toString("hex")).toBe("000000000000");
  });
});

describe("decodeBase64UrlLenient's allocation", () => {
  it("the decoded bytes hold no more memory than 3/4 of the input, however large the input", () => {
    // Past Buffer's pool size, so the result owns its memory: what it keeps alive is what was allocated.
    const input = "AAAA".repeat(100_000);
    const decoded = decodeBase64UrlLenient(input);
    expect(decoded?.length).toBe(300_000);
    expect(decoded?.buffer.byteLength).toBeLessThanOrEqual(300_000);
  });
});

describe("keys", () => {
  it("parseFernetKey refuses a non-string and a key that is not 32 bytes, with one message", () => {
    const message = "Fernet key must be a base64url string of 32 bytes";
    expect(() => parseFernetKey(32 as unknown as string)).toThrow(new TypeError(message));
    expect(() => parseFernetKey(encodeBase64UrlPadded(Buffer.alloc(16)))).toThrow(new TypeError(message));
    expect(() => parseFernetKey(encodeBase64UrlPadded(Buffer.alloc(33)))).toThrow(new TypeError(message));
  });

  it("fernetKeyFromBytes refuses anything but 32 bytes, saying what a key is", () => {
    expect(() => fernetKeyFromBytes(new Uint8Array(31))).toThrow(new TypeError("Fernet key must be 32 bytes (16 signing + 16 encryption)"));
  });

  const half = (n: number): Buffer => Buffer.alloc(n, 5);
  it.each([
    ["a string", "a".repeat(44)],
    ["undefined (no key at all)", undefined],
    ["null", null],
    ["a signing key that is not a Buffer", { signingKey: new Uint8Array(16), encryptionKey: half(16) }],
    ["an encryption key that is not a Buffer", { signingKey: half(16), encryptionKey: new Uint8Array(16) }],
    ["a 15-byte signing key", { signingKey: half(15), encryptionKey: half(16) }],
    ["a 17-byte encryption key", { signingKey: half(16), encryptionKey: half(17) }],
  ])("encrypt and decrypt refuse %s as a key, before using it", (_what, key) => {
    const message = "key must be a FernetKey (use fernetKeyFromBytes or parseFernetKey)";
    expect(() => fernetEncrypt(key as unknown as FernetKey, "x", { now: NOW })).toThrow(new TypeError(message));
    expect(() => fernetDecrypt(key as unknown as FernetKey, fernetEncrypt(KEY, "x"))).toThrow(new TypeError(message));
  });
});

describe("fernetEncrypt options", () => {
  it("the timestamp defaults to the current unix second", () => {
    const before = Math.floor(Date.now() / 1000);
    const token = fernetEncrypt(KEY, "x");
    const after = Math.floor(Date.now() / 1000);
    const stamp = Number(decodeBase64Url(token)?.readBigUInt64BE(1));
    expect(stamp).toBeGreaterThanOrEqual(before);
    expect(stamp).toBeLessThanOrEqual(after);
  });

  it("now: 0 (the epoch) is a valid timestamp; -1 and 1.5 are refused", () => {
    expect(fernetDecrypt(KEY, fernetEncrypt(KEY, "x", { now: 0 })).toString()).toBe("x");
    for (const now of [-1, 1.5]) {
      expect(() => fernetEncrypt(KEY, "x", { now })).toThrow(new TypeError("options.now must be a non-negative integer (unix seconds)"));
    }
  });

  it("plaintext must be a string or bytes", () => {
    expect(() => fernetEncrypt(KEY, 42 as unknown as string)).toThrow(new TypeError("plaintext must be a string or a Uint8Array"));
  });
});

describe("token framing", () => {
  it("a token of whole blocks with version 0x80 is token-shaped (control)", () => {
    expect(isFernetTokenShaped(handMade(0x80, 16))).toBe(true);
    expect(isFernetTokenShaped(handMade(0x80, 32))).toBe(true);
  });

  it.each([
    ["no ciphertext at all", 0x80, 0],
    ["a partial block", 0x80, 15],
    ["a block and a byte", 0x80, 17],
    ["version 0x81", 0x81, 16],
  ])("%s is not token-shaped, and decrypting it fails before the MAC is looked at", (_what, version, cipherBytes) => {
    const token = handMade(version, cipherBytes);
    expect(isFernetTokenShaped(token)).toBe(false);
    expect(rejection(() => fernetDecrypt(KEY, token))).toMatch(/bad length|unknown version/);
  });

  it("a token authentic in every byte but its version (0x81) is refused as unknown version", () => {
    expect(fernetDecrypt(KEY, withVersion(0x80)).toString()).toBe("hello");
    expect(rejection(() => fernetDecrypt(KEY, withVersion(0x81)))).toBe("Fernet token rejected: unknown version");
  });

  it("a token that is not a string is refused as such", () => {
    expect(rejection(() => fernetDecrypt(KEY, 42 as unknown as string))).toBe("Fernet token rejected: not a string");
  });
});

describe("fernetDecrypt age options", () => {
  const token = fernetEncrypt(KEY, "x", { now: NOW });

  it("ttlSeconds: 0 accepts a token from this very second", () => {
    expect(fernetDecrypt(KEY, token, { ttlSeconds: 0, now: NOW }).toString()).toBe("x");
    expect(rejection(() => fernetDecrypt(KEY, token, { ttlSeconds: 0, now: NOW + 1 }))).toBe("Fernet token rejected: expired");
  });

  it("maxClockSkewSeconds: 0 accepts no timestamp in the future", () => {
    expect(fernetDecrypt(KEY, token, { ttlSeconds: 60, now: NOW, maxClockSkewSeconds: 0 }).toString()).toBe("x");
    expect(rejection(() => fernetDecrypt(KEY, token, { ttlSeconds: 60, now: NOW - 1, maxClockSkewSeconds: 0 }))).toBe(
      "Fernet token rejected: timestamp in the future",
    );
  });

  it.each([
    [{ ttlSeconds: -1 }, "options.ttlSeconds must be a non-negative number"],
    [{ ttlSeconds: Number.NaN }, "options.ttlSeconds must be a non-negative number"],
    [{ ttlSeconds: 60, now: Number.NaN }, "options.now must be a number (unix seconds)"],
    [{ ttlSeconds: 60, now: NOW, maxClockSkewSeconds: -1 }, "options.maxClockSkewSeconds must be a non-negative number"],
    [{ ttlSeconds: 60, now: NOW, maxClockSkewSeconds: Number.POSITIVE_INFINITY }, "options.maxClockSkewSeconds must be a non-negative number"],
  ])("%j is refused with a TypeError, even for a good token", (options, message) => {
    expect(() => fernetDecrypt(KEY, token, options)).toThrow(new TypeError(message));
  });
});
