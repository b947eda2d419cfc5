/**
 * How `flet-auth/security` refuses (lib/crypto/security.ts, lib/crypto/aes-gcm.ts): options are
 * checked first (a TypeError naming the option; the largest count node's PBKDF2 takes is a valid
 * count), data that cannot be Flet's is refused before any key derivation with a message saying
 * why, and a refusal after the derivation keeps the failed check as its `cause`.
 */
import { describe, expect, it } from "vitest";
import { deriveFernetKeySync } from "../../../lib/crypto/keys.js";
import { encodeBase64UrlPadded, fernetEncrypt } from "../../../lib/crypto/fernet.js";
import { isFletAuthError } from "../../../lib/errors.js";
import { decryptAesGcm256Sync, decryptSync, encryptSync } from "../../../lib/security.js";

// A low count keeps these tests fast; they are about refusals, not about PBKDF2's cost.
const FAST = { iterations: 1000 };
const SECRET = "my-app-secret-key";

function decryptFailure(run: () => unknown): Error & { cause?: unknown } {
  try {
    run();
  } catch (err) {
    expect(isFletAuthError(err, "decrypt_failed"), String(err)).toBe(true);
    return err as Error;
  }
  throw new Error("expected decrypt_failed");
}

describe.each([
  ["decryptSync", decryptSync],
  ["decryptAesGcm256Sync", decryptAesGcm256Sync],
])("%s options", (_name, decrypt) => {
  it("null options are refused like any non-object", () => {
    expect(() => decrypt("data", SECRET, null as never)).toThrow(new TypeError("options must be an object"));
  });

  it("iterations: 2^31 − 1 (the most node's PBKDF2 takes) is a valid count: garbage data is then refused as data", () => {
    decryptFailure(() => decrypt("Y", SECRET, { iterations: 0x7fffffff }));
  });

  it.each([0x80000000, 0, 1.5])("iterations: %s is refused before anything else", (iterations) => {
    expect(() => decrypt("Y", SECRET, { iterations })).toThrow(new TypeError("options.iterations must be a positive integer"));
  });
});

describe("refused before the key derivation, saying why", () => {
  it.each([
    ["decryptSync", decryptSync, "Y", "Encrypted data rejected: not base64"],
    ["decryptSync", decryptSync, "not ascii é", "Encrypted data rejected: not base64"],
    ["decryptSync", decryptSync, "AAAA", "Encrypted data rejected: not Flet's format"],
    ["decryptAesGcm256Sync", decryptAesGcm256Sync, "Y", "Encrypted data rejected: not base64"],
    ["decryptAesGcm256Sync", decryptAesGcm256Sync, "AAAA", "Encrypted data rejected: too short for Flet's AES-GCM format"],
  ])("%s(%j)", (_name, decrypt, data, message) => {
    expect(decryptFailure(() => decrypt(data, SECRET, FAST)).message).toBe(message);
  });
});

describe("refused after the key derivation, with the cause", () => {
  it("a wrong key: the cause is the Fernet check that failed, and the message names the iteration count used", () => {
    const data = encryptSync("token", SECRET, FAST);
    const err = decryptFailure(() => decryptSync(data, "another-secret", FAST));
    expect(err.message).toContain("options.iterations (1000)");
    expect(isFletAuthError(err.cause, "decrypt_failed")).toBe(true);
    expect((err.cause as Error).message).toBe("Fernet token rejected: bad signature");
  });

  it("an authentic payload that is not UTF-8: refused, with the decoder's error as the cause", () => {
    const salt = Buffer.alloc(16, 4);
    const token = fernetEncrypt(deriveFernetKeySync(SECRET, salt, FAST.iterations), Uint8Array.from([0xc3, 0x28]));
    const data = encodeBase64UrlPadded(Buffer.concat([salt, Buffer.from(token, "ascii")]));
    const err = decryptFailure(() => decryptSync(data, SECRET, FAST));
    expect(err.message).toBe("Encrypted data rejected: plaintext is not UTF-8");
    expect(err.cause).toBeInstanceOf(TypeError);
  });
});
