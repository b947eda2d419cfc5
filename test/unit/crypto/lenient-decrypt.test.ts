import * as nodeCrypto from "node:crypto";
import { afterEach, describe, expect, it, vi } from "vitest";
import { isFletAuthError } from "../../../lib/errors.js";
import { decodeBase64UrlLenient, encodeBase64UrlPadded, parseFernetKey, type FernetKey } from "../../../lib/crypto/fernet.js";
import type * as Keys from "../../../lib/crypto/keys.js";
import { decrypt, decryptSync, encryptSync } from "../../../lib/crypto/security.js";
import { decryptAesGcm256, decryptAesGcm256Sync } from "../../../lib/crypto/aes-gcm.js";
import { readVector } from "../../helpers/vectors.js";

// Counts PBKDF2 runs without changing them, to prove garbage is refused before any derivation.
vi.mock("node:crypto", async (importOriginal) => {
  const actual = await importOriginal<typeof nodeCrypto>();
  return { ...actual, pbkdf2: vi.fn(actual.pbkdf2), pbkdf2Sync: vi.fn(actual.pbkdf2Sync) };
});
const pbkdf2Runs = (): number => vi.mocked(nodeCrypto.pbkdf2).mock.calls.length + vi.mocked(nodeCrypto.pbkdf2Sync).mock.calls.length;

// The Fernet spec's vectors come with a Fernet key, not a passphrase: while `specKey` is set, the
// Flet decrypt path uses it in place of the PBKDF2 key, so the spec's tokens run through Flet's format.
let specKey: FernetKey | undefined;
vi.mock("../../../lib/crypto/keys.js", async (importOriginal) => {
  const actual = await importOriginal<typeof Keys>();
  return {
    ...actual,
    deriveFernetKey: (...args: Parameters<typeof actual.deriveFernetKey>) => (specKey ? Promise.resolve(specKey) : actual.deriveFernetKey(...args)),
    deriveFernetKeySync: (...args: Parameters<typeof actual.deriveFernetKeySync>) => specKey ?? actual.deriveFernetKeySync(...args),
  };
});
afterEach(() => {
  specKey = undefined;
});

interface LenientCase { name: string; secret_key: string; plaintext: string; data: string; flet_accepts: boolean }
interface SecurityCase { name: string; secret_key: string; plaintext: string; ciphertext: string; iterations: number }
interface SpecCase { desc?: string; token: string; secret: string; src?: string }

const lenient = readVector<{ cases: LenientCase[] }>("flet-lenient-decrypt.json").cases;
const fletCases = readVector<{ cases: SecurityCase[] }>("flet-security.json").cases;
const gcmCases = readVector<{ cases: SecurityCase[] }>("flet-aes-gcm.json").cases;
const specInvalid = readVector<SpecCase[]>("fernet-spec/invalid.json");
const specVerify = readVector<SpecCase[]>("fernet-spec/verify.json");

// The mangling each case of flet-lenient-decrypt.json shows, applicable to any ciphertext.
const MANGLINGS: Record<string, (data: string) => string> = {
  "trailing-newline": (d) => `${d}\n`,
  "trailing-crlf": (d) => `${d}\r\n`,
  "leading-and-trailing-spaces": (d) => `  ${d}  `,
  "wrapped-76-columns": (d) => d.replace(/.{76}(?=.)/g, "$&\n"),
  "standard-alphabet": (d) => d.replace(/-/g, "+").replace(/_/g, "/"),
  "extra-padding": (d) => `${d}==`,
};

async function shouldRejectWithDecryptFailed(run: () => Promise<unknown>): Promise<void> {
  const err = await run().then(() => undefined, (e: unknown) => e);
  expect(isFletAuthError(err, "decrypt_failed"), String(err)).toBe(true);
}
function shouldThrowDecryptFailed(run: () => unknown): void {
  let err: unknown;
  try {
    run();
  } catch (e) {
    err = e;
  }
  expect(isFletAuthError(err, "decrypt_failed"), String(err)).toBe(true);
}

describe("decrypt accepts everything Flet's decrypt accepts (flet-lenient-decrypt.json)", () => {
  it("the vector file has the expected shape", () => {
    expect(lenient.map((c) => c.name).sort()).toEqual(Object.keys(MANGLINGS).sort());
    expect(lenient.every((c) => c.flet_accepts)).toBe(true);
  });

  for (const c of lenient) {
    it(c.name, async () => {
      expect(await decrypt(c.data, c.secret_key)).toBe(c.plaintext);
      expect(decryptSync(c.data, c.secret_key)).toBe(c.plaintext);
    });
  }

  it("the standard alphabet, on a ciphertext that has '-' and '_' to translate", async () => {
    const c = fletCases.find((v) => v.name === "unicode_emoji") as SecurityCase;
    const standard = MANGLINGS["standard-alphabet"]?.(c.ciphertext) ?? "";
    expect(standard).toMatch(/[+/]/);
    expect(await decrypt(standard, c.secret_key, { iterations: c.iterations })).toBe(c.plaintext);
  });

  it("anything after the padding that ends the data is ignored, as by Python", () => {
    const c = fletCases.find((v) => v.ciphertext.endsWith("=") && v.iterations === 600_000) as SecurityCase;
    expect(decryptSync(`${c.ciphertext}AAAA.junk`, c.secret_key, { iterations: c.iterations })).toBe(c.plaintext);
  });

  it("the inner Fernet token is read as leniently as cryptography's Fernet reads it", () => {
    const salt = Buffer.alloc(16, 5);
    const outer = Buffer.from(encryptSync("inner", "k", { salt, iterations: 1 }), "base64url");
    const token = outer.subarray(16).toString("ascii");
    const mangled = `${token.replace(/.{20}(?=.)/g, "$&\r\n")} \n==`;
    expect(decryptSync(encodeBase64UrlPadded(Buffer.concat([salt, Buffer.from(mangled, "ascii")])), "k", { iterations: 1 })).toBe("inner");
  });

  it("Flet's output with its padding stripped still reads (as flet-auth always allowed)", async () => {
    const c = fletCases.find((v) => v.name === "unicode_emoji") as SecurityCase;
    expect(await decrypt(c.ciphertext.replace(/=+$/, ""), c.secret_key, { iterations: c.iterations })).toBe(c.plaintext);
  });
});

describe("decryptAesGcm256 is as lenient (same decoding in Flet's decrypt_aes_gcm_256)", () => {
  const c = gcmCases.find((v) => v.name === "unicode") as SecurityCase;
  for (const [name, mangle] of Object.entries(MANGLINGS)) {
    it(name, async () => {
      const data = mangle(c.ciphertext);
      expect(data).not.toBe(c.ciphertext);
      expect(await decryptAesGcm256(data, c.secret_key)).toBe(c.plaintext);
      expect(decryptAesGcm256Sync(data, c.secret_key)).toBe(c.plaintext);
    });
  }
});

describe("decodeBase64UrlLenient follows CPython's binascii.a2b_base64 (non-strict)", () => {
  // [input, Python's urlsafe_b64decode result as hex, or null for binascii.Error / ValueError]
  const python: [string, string | null][] = [
    ["YWJj", "616263"],
    ["YWI=", "6162"],
    ["YQ==", "61"],
    ["YQ===", "61"],
    ["YQ==YWJj", "61"],
    ["=YQ==", "61"],
    ["Y=Q==", "61"],
    ["YQ=\n=", "61"],
    ["Y Q\r\n= =", "61"],
    ["YWI=YQ==", "6162"],
    ["YW=Jj", "616263"],
    ["YWJj=", "616263"],
    ["+/+/", "fbffbf"],
    ["-_-_", "fbffbf"],
    ["%%%%", ""],
    ["", ""],
    ["====", ""],
    ["Y", null],
    ["YWJjY", null],
    ["YWJj\u00e9", null],
    ["YQ", null],
    ["YQ=", null],
    ["YWI", null],
  ];
  for (const [input, expected] of python) {
    it(`${JSON.stringify(input)} -> ${expected ?? "error"}`, () => {
      expect(decodeBase64UrlLenient(input, { strictPadding: true })?.toString("hex") ?? null).toBe(expected);
    });
  }

  it("without strictPadding, a missing final padding is completed; one stray character still fails", () => {
    expect(decodeBase64UrlLenient("YQ")?.toString("hex")).toBe("61");
    expect(decodeBase64UrlLenient("YQ=")?.toString("hex")).toBe("61");
    expect(decodeBase64UrlLenient("YWI")?.toString("hex")).toBe("6162");
    expect(decodeBase64UrlLenient("YWJjY")).toBeUndefined();
  });

  it("bytes outside ASCII are skipped in byte input (Python's bytes), refused in a string (Python's str)", () => {
    expect(decodeBase64UrlLenient(Uint8Array.from([0x59, 0x57, 0xff, 0x4a, 0x6a, 0x80]))?.toString("ascii")).toBe("abc");
    expect(decodeBase64UrlLenient("YW\u00ffJj")).toBeUndefined();
  });
});

describe("still rejects what Flet rejects", () => {
  it("data that cannot be a token, however leniently read, fails without running PBKDF2", async () => {
    const c = lenient[0] as LenientCase;
    expect(c.data.trim()).toHaveLength(156);
    const before = pbkdf2Runs();
    for (const data of ["", " \r\n\t", "====", "%%%%", `${c.data.trim()}\u00e9`, c.data.trim().slice(0, 153), "abc=def="]) {
      await shouldRejectWithDecryptFailed(() => decrypt(data, c.secret_key));
      shouldThrowDecryptFailed(() => decryptSync(data, c.secret_key));
      await shouldRejectWithDecryptFailed(() => decryptAesGcm256(data, c.secret_key));
      shouldThrowDecryptFailed(() => decryptAesGcm256Sync(data, c.secret_key));
    }
    expect(pbkdf2Runs()).toBe(before);
  });

  // Flet's decrypt passes no TTL, so the two vectors whose only fault is their age decrypt in Python
  // too (checked against cryptography 48); every other invalid vector must stay invalid.
  const AGE_ONLY = new Set(["far-future TS (unacceptable clock skew)", "expired TTL"]);
  const wrap = (token: string): string => encodeBase64UrlPadded(Buffer.concat([Buffer.alloc(16), Buffer.from(token, "ascii")]));

  for (const v of specInvalid) {
    it(`fernet spec invalid.json through Flet's format: ${v.desc ?? "?"}`, async () => {
      specKey = parseFernetKey(v.secret);
      if (AGE_ONLY.has(v.desc ?? "")) {
        expect(decryptSync(wrap(v.token), "unused")).toBeTypeOf("string");
        return;
      }
      await shouldRejectWithDecryptFailed(() => decrypt(wrap(v.token), "unused"));
      shouldThrowDecryptFailed(() => decryptSync(wrap(v.token), "unused"));
      // Mangled as a saved token might be, still invalid.
      shouldThrowDecryptFailed(() => decryptSync(`${wrap(v.token).replace(/.{76}(?=.)/g, "$&\n")}\n`, "unused"));
    });
  }

  it("fernet spec verify.json tokens read through Flet's format (the mock key path works)", () => {
    for (const v of specVerify) {
      specKey = parseFernetKey(v.secret);
      expect(decryptSync(wrap(v.token), "unused")).toBe(v.src);
    }
  });
});
