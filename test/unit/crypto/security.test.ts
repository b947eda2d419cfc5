import * as nodeCrypto from "node:crypto";
import { readFileSync } from "node:fs";
import { beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { FletAuthError, isFletAuthError } from "../../../lib/errors.js";
import { encodeBase64UrlPadded, fernetEncrypt, type FernetKey } from "../../../lib/crypto/fernet.js";
import { clearDerivedKeyCache, deriveFernetKey } from "../../../lib/crypto/keys.js";
import { decrypt, decryptSync, encrypt, encryptSync } from "../../../lib/crypto/security.js";
import { vectorPath } from "../../helpers/vectors.js";

// Counts PBKDF2 runs without changing them, to prove what the derived-key cache saves.
vi.mock("node:crypto", async (importOriginal) => {
  const actual = await importOriginal<typeof nodeCrypto>();
  return { ...actual, pbkdf2: vi.fn(actual.pbkdf2), pbkdf2Sync: vi.fn(actual.pbkdf2Sync) };
});
const pbkdf2Runs = (): number => vi.mocked(nodeCrypto.pbkdf2).mock.calls.length + vi.mocked(nodeCrypto.pbkdf2Sync).mock.calls.length;

interface Case {
  name: string;
  secret_key: string;
  plaintext: string;
  ciphertext: string;
  iterations: number;
  salt_hex?: string;
  fernet_key?: string;
  fernet_iv_hex?: string;
  fernet_timestamp?: number;
  fernet_token?: string;
  decrypts_with_current_flet?: boolean;
}
interface NegativeCase { name: string; secret_key: string; ciphertext: string; python_flet_error: string }

const vectors = JSON.parse(
  readFileSync(vectorPath("flet-security.json"), "utf8"),
) as { cases: Case[]; negative_cases: NegativeCase[] };

type Deterministic = Case & Required<Pick<Case, "salt_hex" | "fernet_key" | "fernet_iv_hex" | "fernet_timestamp" | "fernet_token">>;
const deterministic = vectors.cases.filter((c): c is Deterministic => c.salt_hex !== undefined);
const legacy = vectors.cases.filter((c) => c.decrypts_with_current_flet === false);
const current = vectors.cases.filter((c) => c.decrypts_with_current_flet !== false);

const injected = (c: Deterministic) => ({
  salt: Buffer.from(c.salt_hex, "hex"),
  iv: Buffer.from(c.fernet_iv_hex, "hex"),
  now: c.fernet_timestamp,
  iterations: c.iterations,
});
const keyText = (key: FernetKey): string => encodeBase64UrlPadded(Buffer.concat([key.signingKey, key.encryptionKey]));

async function shouldRejectWithDecryptFailed(run: () => Promise<unknown>): Promise<void> {
  const err = await run().then(() => undefined, (e: unknown) => e);
  expect(isFletAuthError(err, "decrypt_failed"), String(err)).toBe(true);
}
function shouldThrowDecryptFailed(run: () => unknown): void {
  expect(run).toThrow(FletAuthError);
  expect(run).toThrow(expect.objectContaining({ code: "decrypt_failed", status: 400 }));
}

it("the vector file has the expected shape", () => {
  expect(deterministic).toHaveLength(10);
  expect(legacy.map((c) => c.name)).toEqual(["legacy_100k_iterations"]);
  expect(vectors.negative_cases).toHaveLength(5);
});

describe("encrypt reproduces flet-security.json byte for byte", () => {
  beforeAll(clearDerivedKeyCache);
  for (const c of deterministic) {
    it(c.name, async () => {
      expect(await encrypt(c.plaintext, c.secret_key, injected(c))).toBe(c.ciphertext);
      // Intermediates of §8: the PBKDF2 key and the inner Fernet token text.
      const key = await deriveFernetKey(c.secret_key, Buffer.from(c.salt_hex, "hex"), c.iterations);
      expect(keyText(key)).toBe(c.fernet_key);
      const token = fernetEncrypt(key, c.plaintext, { iv: Buffer.from(c.fernet_iv_hex, "hex"), now: c.fernet_timestamp });
      expect(token).toBe(c.fernet_token);
      expect(Buffer.from(c.ciphertext, "base64url").subarray(16).toString("ascii")).toBe(c.fernet_token);
    });
  }
});

describe("encryptSync agrees with encrypt", () => {
  beforeAll(clearDerivedKeyCache);
  for (const c of deterministic) {
    it(c.name, () => {
      expect(encryptSync(c.plaintext, c.secret_key, injected(c))).toBe(c.ciphertext);
    });
  }
});

describe("decrypt reads every positive case", () => {
  beforeAll(clearDerivedKeyCache);
  for (const c of current) {
    it(c.name, async () => {
      expect(await decrypt(c.ciphertext, c.secret_key)).toBe(c.plaintext);
      expect(decryptSync(c.ciphertext, c.secret_key)).toBe(c.plaintext);
    });
  }

  for (const c of legacy) {
    it(`${c.name}: fails with the default 600 000 iterations, decrypts with 100 000`, async () => {
      await shouldRejectWithDecryptFailed(() => decrypt(c.ciphertext, c.secret_key));
      // The failure looks like a wrong key, so the message names both causes and the option that helps.
      await expect(decrypt(c.ciphertext, c.secret_key)).rejects.toThrow(
        /secret key is wrong.*Flet < 0\.27\.5.*100 000 PBKDF2 iterations.*\{ iterations: 100_000 \}/,
      );
      shouldThrowDecryptFailed(() => decryptSync(c.ciphertext, c.secret_key));
      expect(await decrypt(c.ciphertext, c.secret_key, { iterations: 100_000 })).toBe(c.plaintext);
      expect(decryptSync(c.ciphertext, c.secret_key, { iterations: 100_000 })).toBe(c.plaintext);
    });
  }
});

describe("decrypt rejects every negative case with decrypt_failed", () => {
  for (const c of vectors.negative_cases) {
    it(`${c.name} (Flet raises ${c.python_flet_error})`, async () => {
      await shouldRejectWithDecryptFailed(() => decrypt(c.ciphertext, c.secret_key));
      shouldThrowDecryptFailed(() => decryptSync(c.ciphertext, c.secret_key));
    });
  }

  it("a wrong key is named as a cause, with the iterations option", () => {
    const c = vectors.negative_cases.find((n) => n.name === "wrong_key") as NegativeCase;
    expect(() => decryptSync(c.ciphertext, c.secret_key)).toThrow(/secret key is wrong.*\{ iterations: 100_000 \}/);
  });

  it("garbage, short data and foreign base64 fail without running PBKDF2", async () => {
    const before = pbkdf2Runs();
    for (const data of ["", "%%%%", "c2hvcnQ=", Buffer.alloc(40).toString("base64url"), "abc=def="]) {
      await shouldRejectWithDecryptFailed(() => decrypt(data, "k"));
      shouldThrowDecryptFailed(() => decryptSync(data, "k"));
    }
    expect(pbkdf2Runs()).toBe(before);
  });

  it("a plaintext that is not UTF-8 is rejected", async () => {
    const salt = Buffer.alloc(16, 1);
    const key = await deriveFernetKey("k", salt, 1);
    const data = encodeBase64UrlPadded(Buffer.concat([salt, Buffer.from(fernetEncrypt(key, Buffer.from([0xc3, 0x28])))]));
    await shouldRejectWithDecryptFailed(() => decrypt(data, "k", { iterations: 1 }));
    shouldThrowDecryptFailed(() => decryptSync(data, "k", { iterations: 1 }));
  });
});

describe("round trips", () => {
  it("random salts and IVs, sync and async interchangeable, BOM kept like Python", async () => {
    const text = "\ufeffПривет 🌍 {\"a\":1}";
    const a = await encrypt(text, "secret", { iterations: 1000 });
    const b = encryptSync(text, "secret", { iterations: 1000 });
    expect(a).not.toBe(b);
    expect(decryptSync(a, "secret", { iterations: 1000 })).toBe(text);
    expect(await decrypt(b, "secret", { iterations: 1000 })).toBe(text);
  });

  it("accepts the unpadded form of Flet's output", async () => {
    const c = deterministic[0] as Deterministic;
    expect(await decrypt(c.ciphertext.replace(/=+$/, ""), c.secret_key)).toBe(c.plaintext);
  });
});

describe("derived-key cache", () => {
  beforeEach(clearDerivedKeyCache);

  it("re-decrypting the same blob runs PBKDF2 once, also for concurrent callers", async () => {
    const data = await encrypt("remember me", "cache-secret", { iterations: 2000 });
    clearDerivedKeyCache();
    const before = pbkdf2Runs();
    const results = await Promise.all(Array.from({ length: 5 }, () => decrypt(data, "cache-secret", { iterations: 2000 })));
    expect(results).toEqual(Array(5).fill("remember me"));
    expect(decryptSync(data, "cache-secret", { iterations: 2000 })).toBe("remember me");
    expect(pbkdf2Runs() - before).toBe(1);
  });

  it("a different secret or iteration count is a different entry", async () => {
    const data = await encrypt("x", "s1", { iterations: 10 });
    const before = pbkdf2Runs();
    await shouldRejectWithDecryptFailed(() => decrypt(data, "s2", { iterations: 10 }));
    await shouldRejectWithDecryptFailed(() => decrypt(data, "s1", { iterations: 11 }));
    expect(pbkdf2Runs() - before).toBe(2);
  });

  it("is bounded: the least recently used key is evicted after 256 others", async () => {
    const first = await encrypt("x", "lru", { iterations: 1 });
    for (let i = 0; i < 256; i++) encryptSync("x", "lru", { iterations: 1 });
    const before = pbkdf2Runs();
    await decrypt(first, "lru", { iterations: 1 });
    expect(pbkdf2Runs() - before).toBe(1);
  });
});

describe("argument validation", () => {
  const bad = (v: unknown) => v as string;

  it("wrong types are TypeErrors naming the argument", async () => {
    await expect(encrypt(bad(1), "k")).rejects.toThrow(/text must be a string/);
    await expect(encrypt("x", bad(undefined))).rejects.toThrow(/secretKey must be a string/);
    await expect(decrypt(bad(null), "k")).rejects.toThrow(/data must be a string/);
    await expect(decrypt("x", bad(Buffer.from("k")))).rejects.toThrow(TypeError);
    expect(() => encryptSync(bad({}), "k")).toThrow(/text must be a string/);
    expect(() => decryptSync("x", bad(7))).toThrow(/secretKey must be a string/);
  });

  it("bad options are TypeErrors naming the option", async () => {
    await expect(encrypt("x", "k", { iterations: 0 })).rejects.toThrow(/options.iterations/);
    await expect(decrypt("x", "k", { iterations: 1.5 })).rejects.toThrow(/options.iterations/);
    expect(() => encryptSync("x", "k", { salt: new Uint8Array(8) })).toThrow(/options.salt/);
    expect(() => encryptSync("x", "k", { iterations: 1, iv: new Uint8Array(8) })).toThrow(/options.iv/);
  });

  it("lone surrogates are refused instead of silently becoming U+FFFD", async () => {
    await expect(encrypt("a\ud800b", "k")).rejects.toThrow(/text must be valid Unicode/);
    expect(() => decryptSync("x", "k\udc00")).toThrow(/secretKey must be valid Unicode/);
  });
});
