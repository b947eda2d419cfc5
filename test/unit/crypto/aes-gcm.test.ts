import * as nodeCrypto from "node:crypto";
import { beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { isFletAuthError } from "../../../lib/errors.js";
import { encodeBase64UrlPadded } from "../../../lib/crypto/fernet.js";
import { clearDerivedKeyCache, deriveAesGcmKey } from "../../../lib/crypto/keys.js";
import { encrypt } from "../../../lib/crypto/security.js";
import {
  decryptAesGcm256,
  decryptAesGcm256Sync,
  encryptAesGcm256,
  encryptAesGcm256Sync,
} from "../../../lib/crypto/aes-gcm.js";
import { readVector } from "../../helpers/vectors.js";

// Counts PBKDF2 runs without changing them, to prove what is (not) derived.
vi.mock("node:crypto", async (importOriginal) => {
  const actual = await importOriginal<typeof nodeCrypto>();
  return { ...actual, pbkdf2: vi.fn(actual.pbkdf2), pbkdf2Sync: vi.fn(actual.pbkdf2Sync) };
});
const pbkdf2Runs = (): number => vi.mocked(nodeCrypto.pbkdf2).mock.calls.length + vi.mocked(nodeCrypto.pbkdf2Sync).mock.calls.length;

interface Case { name: string; secret_key: string; plaintext: string; ciphertext: string; salt_hex?: string; nonce_hex?: string }
interface NegativeCase { name: string; secret_key: string; ciphertext: string; flet_error: string }
interface VectorFile {
  algorithm: { nonce_bytes: number; salt_bytes: number; iterations: number; tag_bytes: number };
  cases: Case[];
  negative_cases: NegativeCase[];
}

const vectors = readVector<VectorFile>("flet-aes-gcm.json");
type Deterministic = Case & Required<Pick<Case, "salt_hex" | "nonce_hex">>;
const deterministic = vectors.cases.filter((c): c is Deterministic => c.salt_hex !== undefined && c.nonce_hex !== undefined);
const pinned = (c: Deterministic) => ({ salt: Buffer.from(c.salt_hex, "hex"), nonce: Buffer.from(c.nonce_hex, "hex") });

async function shouldRejectWithDecryptFailed(run: () => Promise<unknown>): Promise<unknown> {
  const err = await run().then(() => undefined, (e: unknown) => e);
  expect(isFletAuthError(err, "decrypt_failed"), String(err)).toBe(true);
  return err;
}
function shouldThrowDecryptFailed(run: () => unknown): unknown {
  let err: unknown;
  try {
    run();
  } catch (e) {
    err = e;
  }
  expect(isFletAuthError(err, "decrypt_failed"), String(err)).toBe(true);
  return err;
}

it("the vector file has the expected shape", () => {
  expect(vectors.algorithm).toMatchObject({ nonce_bytes: 32, salt_bytes: 16, iterations: 600_000, tag_bytes: 16 });
  expect(deterministic).toHaveLength(6);
  expect(vectors.cases).toHaveLength(9);
  expect(vectors.negative_cases).toHaveLength(6);
});

describe("encryptAesGcm256 reproduces flet-aes-gcm.json byte for byte", () => {
  beforeAll(clearDerivedKeyCache);
  for (const c of deterministic) {
    it(c.name, async () => {
      expect(await encryptAesGcm256(c.plaintext, c.secret_key, pinned(c))).toBe(c.ciphertext);
      expect(encryptAesGcm256Sync(c.plaintext, c.secret_key, pinned(c))).toBe(c.ciphertext);
    });
  }

  it("the key is Flet's: ASCII of the first 32 hex digits of sha256(b64url(PBKDF2 key))", async () => {
    const salt = Buffer.from("000102030405060708090a0b0c0d0e0f", "hex");
    const pbkdf2Key = nodeCrypto.pbkdf2Sync("my-secret-key", salt, 600_000, 32, "sha256");
    const expected = nodeCrypto.createHash("sha256").update(encodeBase64UrlPadded(pbkdf2Key)).digest("hex").slice(0, 32);
    const key = await deriveAesGcmKey("my-secret-key", salt, 600_000);
    expect(key).toHaveLength(32);
    expect(key.toString("ascii")).toBe(expected);
  });
});

describe("decryptAesGcm256 reads every case, including Flet's random ones", () => {
  beforeAll(clearDerivedKeyCache);
  for (const c of vectors.cases) {
    it(c.name, async () => {
      expect(await decryptAesGcm256(c.ciphertext, c.secret_key)).toBe(c.plaintext);
      expect(decryptAesGcm256Sync(c.ciphertext, c.secret_key)).toBe(c.plaintext);
    });
  }
});

describe("decryptAesGcm256 rejects every negative case with decrypt_failed", () => {
  for (const c of vectors.negative_cases) {
    it(`${c.name} (Flet raises ${c.flet_error})`, async () => {
      await shouldRejectWithDecryptFailed(() => decryptAesGcm256(c.ciphertext, c.secret_key));
      shouldThrowDecryptFailed(() => decryptAesGcm256Sync(c.ciphertext, c.secret_key));
    });
  }

  it("data too short to hold salt, nonce and tag, or not base64, fails without running PBKDF2", async () => {
    const before = pbkdf2Runs();
    for (const data of ["", "%%%%", "YQ", Buffer.alloc(63).toString("base64url"), vectors.negative_cases[0]?.ciphertext.slice(0, 84) ?? ""]) {
      await shouldRejectWithDecryptFailed(() => decryptAesGcm256(data, "k"));
      shouldThrowDecryptFailed(() => decryptAesGcm256Sync(data, "k"));
    }
    expect(pbkdf2Runs()).toBe(before);
  });

  it("64 bytes (salt, nonce, tag: an empty plaintext) is long enough to be tried", async () => {
    const data = encodeBase64UrlPadded(Buffer.alloc(64));
    const before = pbkdf2Runs();
    await shouldRejectWithDecryptFailed(() => decryptAesGcm256(data, "k", { iterations: 1 }));
    expect(pbkdf2Runs() - before).toBe(1);
  });

  it("a wrong key says so, and names the iterations option for data from Flet < 0.27.5", async () => {
    const old = await encryptAesGcm256("made by Flet 0.27.4", "k", { iterations: 100_000 });
    const err = await shouldRejectWithDecryptFailed(() => decryptAesGcm256(old, "k"));
    expect(String(err)).toMatch(/secret key is wrong/);
    expect(String(err)).toMatch(/Flet < 0\.27\.5/);
    expect(String(err)).toMatch(/\{ iterations: 100_000 \}/);
    expect(await decryptAesGcm256(old, "k", { iterations: 100_000 })).toBe("made by Flet 0.27.4");
    const other = shouldThrowDecryptFailed(() => decryptAesGcm256Sync(old, "k", { iterations: 1000 }));
    expect(String(other)).toMatch(/options\.iterations \(1000\)/);
  });

  it("a plaintext that is not UTF-8 is rejected", async () => {
    const salt = Buffer.alloc(16, 7);
    const nonce = Buffer.alloc(32, 9);
    const cipher = nodeCrypto.createCipheriv("aes-256-gcm", await deriveAesGcmKey("k", salt, 1), nonce);
    const body = Buffer.concat([cipher.update(Buffer.from([0xc3, 0x28])), cipher.final(), cipher.getAuthTag()]);
    const data = encodeBase64UrlPadded(Buffer.concat([salt, nonce, body]));
    const err = await shouldRejectWithDecryptFailed(() => decryptAesGcm256(data, "k", { iterations: 1 }));
    expect(String(err)).toMatch(/not UTF-8/);
    shouldThrowDecryptFailed(() => decryptAesGcm256Sync(data, "k", { iterations: 1 }));
  });
});

describe("round trips", () => {
  it("random salts and nonces, sync and async interchangeable, BOM kept like Python", async () => {
    const text = "\ufeffПривет 🌍 {\"a\":1}";
    const a = await encryptAesGcm256(text, "secret", { iterations: 1000 });
    const b = encryptAesGcm256Sync(text, "secret", { iterations: 1000 });
    expect(a).not.toBe(b);
    expect(a).toMatch(/^[A-Za-z0-9_-]+=*$/);
    expect(Buffer.from(a, "base64url")).toHaveLength(16 + 32 + Buffer.byteLength(text) + 16);
    expect(decryptAesGcm256Sync(a, "secret", { iterations: 1000 })).toBe(text);
    expect(await decryptAesGcm256(b, "secret", { iterations: 1000 })).toBe(text);
  });
});

describe("key derivation", () => {
  beforeEach(clearDerivedKeyCache);

  it("shares the one PBKDF2 cache with encrypt: the same secret and salt derive once", async () => {
    const salt = Buffer.alloc(16, 3);
    const before = pbkdf2Runs();
    await encrypt("fernet", "shared", { salt, iterations: 2000 });
    const sealed = await encryptAesGcm256("gcm", "shared", { salt, iterations: 2000 });
    expect(await decryptAesGcm256(sealed, "shared", { iterations: 2000 })).toBe("gcm");
    expect(decryptAesGcm256Sync(sealed, "shared", { iterations: 2000 })).toBe("gcm");
    expect(pbkdf2Runs() - before).toBe(1);
  });

  it("the async variants derive on the thread pool, not with pbkdf2Sync", async () => {
    const syncRuns = vi.mocked(nodeCrypto.pbkdf2Sync).mock.calls.length;
    const sealed = await encryptAesGcm256("x", "pool", { iterations: 10 });
    clearDerivedKeyCache();
    await decryptAesGcm256(sealed, "pool", { iterations: 10 });
    expect(vi.mocked(nodeCrypto.pbkdf2Sync).mock.calls.length).toBe(syncRuns);
  });
});

describe("argument validation", () => {
  const bad = (v: unknown) => v as string;

  it("wrong types are TypeErrors naming the argument", async () => {
    await expect(encryptAesGcm256(bad(1), "k")).rejects.toThrow(/text must be a string/);
    await expect(encryptAesGcm256("x", bad(undefined))).rejects.toThrow(/secretKey must be a string/);
    await expect(decryptAesGcm256(bad(null), "k")).rejects.toThrow(/data must be a string/);
    await expect(decryptAesGcm256("x", bad(Buffer.from("k")))).rejects.toThrow(/secretKey must be a string/);
    expect(() => encryptAesGcm256Sync(bad({}), "k")).toThrow(/text must be a string/);
    expect(() => decryptAesGcm256Sync("x", bad(7))).toThrow(/secretKey must be a string/);
  });

  it("bad options are TypeErrors naming the option", async () => {
    await expect(encryptAesGcm256("x", "k", { iterations: 0 })).rejects.toThrow(/options.iterations/);
    await expect(decryptAesGcm256("x", "k", { iterations: 1.5 })).rejects.toThrow(/options.iterations/);
    expect(() => encryptAesGcm256Sync("x", "k", { salt: new Uint8Array(8) })).toThrow(/options.salt must be 16 bytes/);
    expect(() => encryptAesGcm256Sync("x", "k", { nonce: new Uint8Array(12) })).toThrow(/options.nonce must be 32 bytes/);
    expect(() => decryptAesGcm256Sync("x", "k", bad(5) as never)).toThrow(/options must be an object/);
  });

  it("lone surrogates are refused instead of silently becoming U+FFFD", async () => {
    await expect(encryptAesGcm256("a\ud800b", "k")).rejects.toThrow(/text must be valid Unicode/);
    expect(() => encryptAesGcm256Sync("a", "k\udfff")).toThrow(/secretKey must be valid Unicode/);
    expect(() => decryptAesGcm256Sync("x", "k\udc00")).toThrow(/secretKey must be valid Unicode/);
  });
});
