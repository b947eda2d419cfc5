/**
 * The derived-key cache (lib/crypto/keys.ts): 256 keys, least recently used out first; a
 * derivation that finishes after the cache moved on (cleared, or a blocking derivation stored the
 * key meanwhile) leaves the cache as it found it; a failed derivation rejects with its own error
 * and is not remembered. PBKDF2 is counted (and, where timing matters, held) through an injected
 * node:crypto.
 */
import * as nodeCrypto from "node:crypto";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { clearDerivedKeyCache, deriveFernetKey, deriveFernetKeySync } from "../../../lib/crypto/keys.js";

vi.mock("node:crypto", async (importOriginal) => {
  const actual = await importOriginal<typeof nodeCrypto>();
  return { ...actual, pbkdf2: vi.fn(actual.pbkdf2), pbkdf2Sync: vi.fn(actual.pbkdf2Sync) };
});
const realCrypto = await vi.importActual<typeof nodeCrypto>("node:crypto");
const pbkdf2Runs = (): number => vi.mocked(nodeCrypto.pbkdf2).mock.calls.length + vi.mocked(nodeCrypto.pbkdf2Sync).mock.calls.length;

const SECRET = "cache-secret";
const ITER = 1;
/** A distinct 16-byte salt per n: one cache entry each. */
const salt = (n: number): Buffer => {
  const s = Buffer.alloc(16);
  s.writeUInt32BE(n);
  return s;
};
/** Derives (blocking) and says whether PBKDF2 ran, i.e. whether the key was not cached. */
const derivedAgain = (n: number): boolean => {
  const before = pbkdf2Runs();
  deriveFernetKeySync(SECRET, salt(n), ITER);
  return pbkdf2Runs() > before;
};

type Pbkdf2Callback = Parameters<typeof nodeCrypto.pbkdf2>[5];

/** Makes the next async pbkdf2 wait until the test calls back, with an error or the real key. */
function holdNextPbkdf2(): { finish: (err?: Error) => void } {
  let callback: Pbkdf2Callback | undefined;
  let args: { password: nodeCrypto.BinaryLike; salt: nodeCrypto.BinaryLike; iterations: number; keylen: number; digest: string } | undefined;
  vi.mocked(nodeCrypto.pbkdf2).mockImplementationOnce((password, s, iterations, keylen, digest, cb) => {
    args = { password, salt: s, iterations, keylen, digest };
    callback = cb;
  });
  return {
    finish(err) {
      if (callback === undefined || args === undefined) throw new Error("pbkdf2 was not called");
      const { password, salt: s, iterations, keylen, digest } = args;
      if (err) callback(err, undefined as unknown as Parameters<Pbkdf2Callback>[1]);
      else callback(null, realCrypto.pbkdf2Sync(password, s, iterations, keylen, digest));
    },
  };
}

beforeEach(clearDerivedKeyCache);

describe("the cache's bound", () => {
  it("holds 256 keys: after 256 derivations the first key is still cached", () => {
    for (let n = 0; n < 256; n++) expect(derivedAgain(n)).toBe(true);
    expect(derivedAgain(0)).toBe(false);
  });

  it("past 256 the least recently used key goes: a key used again stays, the next oldest is derived again", () => {
    for (let n = 0; n < 256; n++) derivedAgain(n);
    expect(derivedAgain(0)).toBe(false); // key 0 is now the most recently used
    expect(derivedAgain(256)).toBe(true); // the 257th key evicts one
    expect(derivedAgain(0)).toBe(false);
    expect(derivedAgain(1)).toBe(true);
  });
});

describe("a derivation that finishes late", () => {
  it("clearDerivedKeyCache forgets a derivation in flight too: once finished, it is not cached", async () => {
    const held = holdNextPbkdf2();
    const pending = deriveFernetKey(SECRET, salt(1), ITER);
    clearDerivedKeyCache();
    held.finish();
    await pending;
    expect(derivedAgain(1)).toBe(true);
  });

  it("failing after a blocking derivation stored the key does not drop that key", async () => {
    const held = holdNextPbkdf2();
    const pending = deriveFernetKey(SECRET, salt(2), ITER);
    expect(derivedAgain(2)).toBe(true); // the blocking variant does not wait for the pending one
    held.finish(new Error("thread pool failure"));
    await expect(pending).rejects.toThrow("thread pool failure");
    expect(derivedAgain(2)).toBe(false);
  });
});

describe("a failed derivation", () => {
  it("rejects with PBKDF2's own error, and is not remembered: the next call derives again", async () => {
    const held = holdNextPbkdf2();
    const pending = deriveFernetKey(SECRET, salt(3), ITER);
    held.finish(new Error("thread pool failure"));
    await expect(pending).rejects.toThrow(new Error("thread pool failure"));
    const before = pbkdf2Runs();
    const key = await deriveFernetKey(SECRET, salt(3), ITER);
    expect(pbkdf2Runs() - before).toBe(1);
    expect(Buffer.concat([key.signingKey, key.encryptionKey])).toEqual(realCrypto.pbkdf2Sync(SECRET, salt(3), ITER, 32, "sha256"));
  });
});
