import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { isFletAuthError } from "../../../lib/errors.js";
import {
  decodeBase64Url,
  fernetDecrypt,
  fernetEncrypt,
  fernetKeyFromBytes,
  parseFernetKey,
} from "../../../lib/crypto/fernet.js";
import { vectorPath } from "../../helpers/vectors.js";

// The spec's acceptance vectors, read in place from the shared folder (never copied).
function vectors<T>(name: string): T[] {
  return JSON.parse(readFileSync(vectorPath(`fernet-spec/${name}`), "utf8")) as T[];
}

interface GenerateCase { token: string; now: string; iv: number[]; src: string; secret: string }
interface VerifyCase { token: string; now: string; ttl_sec: number; src: string; secret: string }
interface InvalidCase { desc: string; token: string; now: string; ttl_sec: number; secret: string }

const unix = (iso: string): number => Date.parse(iso) / 1000;

function shouldBeRejected(run: () => unknown): void {
  let caught: unknown;
  try {
    run();
  } catch (err) {
    caught = err;
  }
  expect(isFletAuthError(caught, "decrypt_failed"), String(caught)).toBe(true);
}

describe("fernet spec generate.json", () => {
  for (const v of vectors<GenerateCase>("generate.json")) {
    it(`produces the exact token for ${JSON.stringify(v.src)}`, () => {
      const token = fernetEncrypt(parseFernetKey(v.secret), v.src, { now: unix(v.now), iv: Uint8Array.from(v.iv) });
      expect(token).toBe(v.token);
    });
  }
});

describe("fernet spec verify.json", () => {
  for (const v of vectors<VerifyCase>("verify.json")) {
    it(`decrypts ${JSON.stringify(v.src)} within the TTL`, () => {
      const plain = fernetDecrypt(parseFernetKey(v.secret), v.token, { ttlSeconds: v.ttl_sec, now: unix(v.now) });
      expect(plain.toString("utf8")).toBe(v.src);
    });
  }
});

// Pins that each invalid vector fails for the reason it was written for, not by accident.
const invalidReasons: Record<string, RegExp> = {
  "incorrect mac": /signature/,
  "too short": /length/,
  "invalid base64": /base64/,
  "payload size not multiple of block size": /length/,
  "payload padding error": /padding/,
  "far-future TS (unacceptable clock skew)": /future/,
  "expired TTL": /expired/,
  "incorrect IV (causes padding error)": /padding/,
};

describe("fernet spec invalid.json", () => {
  for (const v of vectors<InvalidCase>("invalid.json")) {
    it(`rejects: ${v.desc}`, () => {
      const run = (): unknown => fernetDecrypt(parseFernetKey(v.secret), v.token, { ttlSeconds: v.ttl_sec, now: unix(v.now) });
      shouldBeRejected(run);
      expect(run).toThrow(invalidReasons[v.desc] ?? /^$/);
    });
  }
});

describe("fernet round trip and edge cases", () => {
  const key = fernetKeyFromBytes(Buffer.alloc(32, 7));

  it("round-trips strings and bytes, with random IVs", () => {
    const a = fernetEncrypt(key, "héllo");
    expect(a).not.toBe(fernetEncrypt(key, "héllo"));
    expect(fernetDecrypt(key, a).toString("utf8")).toBe("héllo");
    expect(fernetDecrypt(key, fernetEncrypt(key, new Uint8Array([0, 255]))).equals(Buffer.from([0, 255]))).toBe(true);
  });

  it("emits padded base64url and accepts the unpadded form", () => {
    const token = fernetEncrypt(key, "x");
    expect(token).toMatch(/^[A-Za-z0-9_-]+={1,2}$/);
    expect(fernetDecrypt(key, token.replace(/=+$/, "")).toString()).toBe("x");
  });

  it("rejects non-alphabet characters that Buffer would silently skip", () => {
    // Fixed time and IV: this token always holds both "-" and "_" (a random one lacks both in ~7% of runs).
    const token = fernetEncrypt(key, "x", { now: 1000, iv: new Uint8Array(16) });
    expect(token).toContain("-");
    expect(token).toContain("_");
    const tampered = [
      `${token.slice(0, 10)}\n${token.slice(10)}`,
      // Standard-base64 twins of "-" and "_": Buffer decodes them to the very same bytes, so only
      // the alphabet check can reject them (a signature or padding failure would hide its absence).
      token.replace("-", "+"),
      token.replace("_", "/"),
    ];
    for (const bad of tampered) {
      expect(bad).not.toBe(token);
      expect(Buffer.from(bad, "base64url").equals(Buffer.from(token, "base64url"))).toBe(true);
      shouldBeRejected(() => fernetDecrypt(key, bad));
      expect(() => fernetDecrypt(key, bad)).toThrow(/base64/);
    }
    expect(token).toMatch(/[^=]==$/);
    shouldBeRejected(() => fernetDecrypt(key, `${token}=`));
    expect(() => fernetDecrypt(key, `${token}=`)).toThrow(/base64/);
  });

  it("rejects a token made with another key, a wrong type and the empty string", () => {
    const other = fernetKeyFromBytes(Buffer.alloc(32, 8));
    shouldBeRejected(() => fernetDecrypt(other, fernetEncrypt(key, "x")));
    shouldBeRejected(() => fernetDecrypt(key, 42 as unknown as string));
    shouldBeRejected(() => fernetDecrypt(key, ""));
  });

  it("ignores the timestamp without a TTL, enforces it with one", () => {
    const token = fernetEncrypt(key, "x", { now: 1000 });
    expect(fernetDecrypt(key, token, { now: 10_000_000 }).toString()).toBe("x");
    expect(fernetDecrypt(key, token, { ttlSeconds: 60, now: 1060 }).toString()).toBe("x");
    shouldBeRejected(() => fernetDecrypt(key, token, { ttlSeconds: 60, now: 1061 }));
    // Clock skew: 60 s into the future by default, configurable.
    expect(fernetDecrypt(key, token, { ttlSeconds: 60, now: 940 }).toString()).toBe("x");
    shouldBeRejected(() => fernetDecrypt(key, token, { ttlSeconds: 60, now: 939 }));
    shouldBeRejected(() => fernetDecrypt(key, token, { ttlSeconds: 60, now: 990, maxClockSkewSeconds: 5 }));
  });

  it("never puts key material in error messages", () => {
    const secret = "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=";
    const raw = decodeBase64Url(secret) as Buffer;
    try {
      fernetDecrypt(parseFernetKey(secret), "gAAAAAAdwJ6x");
    } catch (err) {
      const message = (err as Error).message;
      expect(message).not.toContain(secret);
      expect(message).not.toContain(raw.toString("hex"));
    }
    expect(() => parseFernetKey("c2hvcnQ=")).toThrow(TypeError);
    expect(() => parseFernetKey("c2hvcnQ=")).not.toThrow(/c2hvcnQ/);
  });

  it("validates keys and options with TypeErrors", () => {
    expect(() => fernetKeyFromBytes(new Uint8Array(31))).toThrow(TypeError);
    expect(() => fernetEncrypt(key, "x", { iv: new Uint8Array(15) })).toThrow(TypeError);
    expect(() => fernetEncrypt(key, "x", { now: -1 })).toThrow(TypeError);
    expect(() => fernetDecrypt(key, "junk", { ttlSeconds: -1 })).toThrow(TypeError);
    expect(() => fernetEncrypt({} as never, "x")).toThrow(TypeError);
  });
});
