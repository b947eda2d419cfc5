import { createHash, pbkdf2Sync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createSealer, type DeriveKey } from "../../../lib/crypto/sealer.js";
import { fernetDecrypt, fernetEncrypt, fernetKeyFromBytes } from "../../../lib/crypto/fernet.js";

// Low iteration count: these tests are about sealing, not about PBKDF2's cost.
const ITER = 1000;
const TOKEN_JSON = JSON.stringify({ access_token: "a".repeat(300), token_type: "Bearer", expires_at: 1767312000, scope: ["openid"] });

/** A real PBKDF2 derive that records which secrets it was asked for. */
function countingDerive(): { derive: DeriveKey; calls: string[] } {
  const calls: string[] = [];
  const derive: DeriveKey = async (secret, salt, iterations) => {
    calls.push(secret);
    return pbkdf2Sync(secret, salt, iterations, 32, "sha256");
  };
  return { derive, calls };
}

function tamper(token: string, index: number): string {
  const raw = Buffer.from(token, "base64url");
  raw[index] = (raw[index] as number) ^ 0x01;
  return raw.toString("base64url");
}

describe("seal and open", () => {
  it("round-trips a token JSON and unicode", async () => {
    const sealer = createSealer("s".repeat(32), "session-token", { iterations: ITER });
    expect(await sealer.open(await sealer.seal(TOKEN_JSON))).toBe(TOKEN_JSON);
    expect(await sealer.open(await sealer.seal("héllo 🌍"))).toBe("héllo 🌍");
    expect(await sealer.open(await sealer.seal(""))).toBe("");
  });

  it("seals plain Fernet with PBKDF2(secret, sha256('flet-auth:' + purpose)[0..16])", async () => {
    const sealer = createSealer("secret-1", "remember-me", { iterations: ITER });
    const salt = createHash("sha256").update("flet-auth:remember-me").digest().subarray(0, 16);
    const key = fernetKeyFromBytes(pbkdf2Sync("secret-1", salt, ITER, 32, "sha256"));
    expect(fernetDecrypt(key, await sealer.seal("x")).toString()).toBe("x");
    expect(await sealer.open(fernetEncrypt(key, "y"))).toBe("y");
  });

  it("different purposes do not open each other's data", async () => {
    const a = createSealer("same-secret", "session-token", { iterations: ITER });
    const b = createSealer("same-secret", "remember-me", { iterations: ITER });
    expect(await b.open(await a.seal("x"))).toBeUndefined();
  });
});

describe("secret rotation", () => {
  it("data sealed with the old first secret opens with [new, old]; new data does not open with [old]", async () => {
    const old = createSealer(["old-secret"], "session-token", { iterations: ITER });
    const rotated = createSealer(["new-secret", "old-secret"], "session-token", { iterations: ITER });
    const sealedByOld = await old.seal(TOKEN_JSON);
    expect(await rotated.open(sealedByOld)).toBe(TOKEN_JSON);
    const sealedByNew = await rotated.seal(TOKEN_JSON);
    expect(await rotated.open(sealedByNew)).toBe(TOKEN_JSON);
    expect(await old.open(sealedByNew)).toBeUndefined();
  });
});

describe("open returns undefined for bad data", () => {
  const sealer = createSealer(["k1", "k2"], "session-token", { iterations: ITER });

  it("forged: a flipped bit in the ciphertext or the MAC", async () => {
    const sealed = await sealer.seal(TOKEN_JSON);
    expect(await sealer.open(tamper(sealed, 40))).toBeUndefined();
    expect(await sealer.open(tamper(sealed, Buffer.from(sealed, "base64url").length - 1))).toBeUndefined();
  });

  it("forged: sealed by an attacker's key", async () => {
    const attacker = createSealer("attacker", "session-token", { iterations: ITER });
    expect(await sealer.open(await attacker.seal("admin"))).toBeUndefined();
  });

  it("truncated", async () => {
    const sealed = await sealer.seal(TOKEN_JSON);
    expect(await sealer.open(sealed.slice(0, -4))).toBeUndefined();
    expect(await sealer.open(sealed.slice(0, 20))).toBeUndefined();
  });

  it("garbage and wrong types", async () => {
    for (const data of ["", "garbage", "%%%%", "gAAAAA", Buffer.alloc(200).toString("base64url")]) {
      expect(await sealer.open(data)).toBeUndefined();
    }
    for (const data of [undefined, null, 42, {}, ["x"], Buffer.from("x")]) {
      expect(await sealer.open(data as unknown as string)).toBeUndefined();
    }
  });

  it("stale per ttlSeconds, using the injected clock", async () => {
    let nowMs = 1_767_225_600_000;
    const clocked = createSealer("k", "remember-me", { iterations: ITER, now: () => nowMs });
    const sealed = await clocked.seal("x");
    nowMs += 60_000;
    expect(await clocked.open(sealed, { ttlSeconds: 60 })).toBe("x");
    nowMs += 1_000;
    expect(await clocked.open(sealed, { ttlSeconds: 60 })).toBeUndefined();
    expect(await clocked.open(sealed)).toBe("x");
  });
});

describe("key derivation runs once per secret", () => {
  it("no PBKDF2 after the first derivation, however many seals and opens", async () => {
    const { derive, calls } = countingDerive();
    const sealer = createSealer(["new", "old"], "session-token", { iterations: ITER, derive });
    const oldSealer = createSealer("old", "session-token", { iterations: ITER });
    const sealedOld = await oldSealer.seal("from-old");
    expect(calls).toEqual([]); // lazy: nothing derived at construction

    const sealed = await sealer.seal(TOKEN_JSON);
    for (let i = 0; i < 50; i++) {
      expect(await sealer.open(sealed)).toBe(TOKEN_JSON);
      expect(await sealer.open(sealedOld)).toBe("from-old");
      expect(await sealer.open(tamper(sealed, 30))).toBeUndefined();
      await sealer.seal("x");
    }
    expect(calls.sort()).toEqual(["new", "old"]);
  });

  it("concurrent first uses share one derivation", async () => {
    const { derive, calls } = countingDerive();
    const sealer = createSealer("k", "session-token", { iterations: ITER, derive });
    const sealed = await Promise.all(Array.from({ length: 10 }, (_, i) => sealer.seal(`t${i}`)));
    await Promise.all(sealed.map((s) => sealer.open(s)));
    await sealer.ready();
    expect(calls).toEqual(["k"]);
  });

  it("garbage never triggers a derivation", async () => {
    const { derive, calls } = countingDerive();
    const sealer = createSealer("k", "session-token", { iterations: ITER, derive });
    expect(await sealer.open("not a token")).toBeUndefined();
    expect(calls).toEqual([]);
  });

  it("ready() derives every secret up front", async () => {
    const { derive, calls } = countingDerive();
    await createSealer(["a", "b", "c"], "p", { iterations: ITER, derive }).ready();
    expect(calls.sort()).toEqual(["a", "b", "c"]);
  });

  it("a failed derivation is retried on the next call, not cached", async () => {
    let attempts = 0;
    const flaky: DeriveKey = async (secret, salt, iterations) => {
      attempts++;
      if (attempts === 1) throw new Error("thread pool hiccup");
      return pbkdf2Sync(secret, salt, iterations, 32, "sha256");
    };
    const sealer = createSealer("k", "p", { iterations: ITER, derive: flaky });
    await expect(sealer.seal("x")).rejects.toThrow("thread pool hiccup");
    expect(await sealer.open(await sealer.seal("x"))).toBe("x");
    expect(attempts).toBe(2);
  });

  it("uses 600 000 iterations by default", async () => {
    const seen: number[] = [];
    const derive: DeriveKey = async (secret, salt, iterations) => {
      seen.push(iterations);
      return pbkdf2Sync(secret, salt, 1, 32, "sha256");
    };
    await createSealer("k", "p", { derive }).ready();
    expect(seen).toEqual([600_000]);
  });
});

describe("createSealer validation", () => {
  const bad = (v: unknown) => v as string;
  it("throws TypeErrors naming the argument", async () => {
    expect(() => createSealer([], "p")).toThrow(/secrets must be/);
    expect(() => createSealer(bad(undefined), "p")).toThrow(/secrets must be/);
    expect(() => createSealer(["a", ""], "p")).toThrow(/secrets\[1\]/);
    expect(() => createSealer("a", "")).toThrow(/purpose/);
    expect(() => createSealer("a", "p", { iterations: 0 })).toThrow(/options.iterations/);
    const sealer = createSealer("a", "p", { iterations: ITER });
    await expect(sealer.seal(bad(1))).rejects.toThrow(/text must be a string/);
    await expect(sealer.open("x", { ttlSeconds: -1 })).rejects.toThrow(/ttlSeconds/);
  });
});
