/**
 * What a sealer promises beyond the round trip (lib/crypto/sealer.ts, lib/crypto/keys.ts): the
 * session-token key is HKDF-SHA256 with a fixed salt and info (tokens sealed by one instance or
 * version open in another), open() returns exactly the sealed text (a leading U+FEFF included)
 * and never a string that was not valid UTF-8, and a TTL of 0 is a valid TTL.
 */
import { createHash, hkdfSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { fernetDecrypt, fernetEncrypt, fernetKeyFromBytes } from "../../../lib/crypto/fernet.js";
import { hkdfKey } from "../../../lib/crypto/keys.js";
import { createSealer, type DeriveKey } from "../../../lib/crypto/sealer.js";

const SECRET = "session-secret-0123456789abcdef-0123";
const NOW_MS = Date.UTC(2030, 0, 1);
const fixedKey = Buffer.alloc(32, 9);
const fixedDerive: DeriveKey = async () => fixedKey;

describe("the session-token key (HKDF, RFC 5869)", () => {
  it("is HKDF-SHA256(secret, sha256('flet-auth:session-token')[0..16], 'flet-auth session tokens', 32)", async () => {
    const salt = createHash("sha256").update("flet-auth:session-token").digest().subarray(0, 16);
    const key = fernetKeyFromBytes(Buffer.from(hkdfSync("sha256", SECRET, salt, "flet-auth session tokens", 32)));
    const sealer = createSealer(SECRET, "session-token", { derive: hkdfKey });
    expect(fernetDecrypt(key, await sealer.seal("stored token")).toString()).toBe("stored token");
    expect(await sealer.open(fernetEncrypt(key, "sealed elsewhere"))).toBe("sealed elsewhere");
  });
});

describe("open", () => {
  it("returns exactly the sealed text, a leading byte order mark included", async () => {
    const sealer = createSealer(SECRET, "session-token", { derive: fixedDerive });
    expect(await sealer.open(await sealer.seal("\uFEFF{\"a\":1}"))).toBe("\uFEFF{\"a\":1}");
  });

  it("refuses an authentic token whose payload is not UTF-8, instead of answering replacement characters", async () => {
    const sealer = createSealer(SECRET, "session-token", { derive: fixedDerive });
    const token = fernetEncrypt(fernetKeyFromBytes(fixedKey), Uint8Array.from([0x7b, 0xff, 0x7d]));
    expect(await sealer.open(token)).toBeUndefined();
  });

  it("ttlSeconds: 0 opens a token sealed this second and refuses one from the second before", async () => {
    let now = NOW_MS;
    const sealer = createSealer(SECRET, "session-token", { derive: fixedDerive, now: () => now });
    const sealed = await sealer.seal("x");
    expect(await sealer.open(sealed, { ttlSeconds: 0 })).toBe("x");
    now += 1000;
    expect(await sealer.open(sealed, { ttlSeconds: 0 })).toBeUndefined();
  });

  it.each([-1, Number.NaN])("ttlSeconds: %s is a caller's mistake: a TypeError", async (ttlSeconds) => {
    const sealer = createSealer(SECRET, "session-token", { derive: fixedDerive });
    await expect(sealer.open("x", { ttlSeconds })).rejects.toThrow(new TypeError("options.ttlSeconds must be a non-negative number"));
  });
});

describe("the clock", () => {
  it("is read for a TTL only: open() without ttlSeconds never calls it", async () => {
    let reads = 0;
    const clock = (): number => {
      reads++;
      return NOW_MS;
    };
    const sealer = createSealer(SECRET, "session-token", { derive: fixedDerive, now: clock });
    const sealed = await sealer.seal("x");
    expect(reads).toBe(1);
    expect(await sealer.open(sealed)).toBe("x");
    expect(reads).toBe(1);
    expect(await sealer.open(sealed, { ttlSeconds: 60 })).toBe("x");
    expect(reads).toBe(2);
  });
});

describe("createSealer purpose", () => {
  it.each([
    ["a number", 5],
    ["undefined", undefined],
    ["null", null],
    ["an array of the name", ["session-token"]],
  ])("%s is refused: the purpose must be a non-empty string", (_what, purpose) => {
    expect(() => createSealer(SECRET, purpose as unknown as string)).toThrow(new TypeError("purpose must be a non-empty string"));
  });
});

describe("createSealer options", () => {
  it("iterations: 1 is the least valid count, and the one the key is derived with", async () => {
    const seen: number[] = [];
    const recording: DeriveKey = async (_secret, _salt, iterations) => {
      seen.push(iterations);
      return fixedKey;
    };
    const sealer = createSealer(SECRET, "remember-me", { iterations: 1, derive: recording });
    expect(await sealer.open(await sealer.seal("x"))).toBe("x");
    expect(seen).toEqual([1]);
  });

  it.each([
    [{ now: 5 }, "options.now must be a function returning milliseconds"],
    [{ derive: "pbkdf2" }, "options.derive must be a function"],
    [{ iterations: 0 }, "options.iterations must be a positive integer"],
  ])("%j is refused, naming the option", (options, message) => {
    expect(() => createSealer(SECRET, "session-token", options as never)).toThrow(new TypeError(message));
  });
});
