/**
 * assertUnicode (lib/util/unicode.ts): a string UTF-8 can encode faithfully passes, a lone
 * surrogate — high without a low after it, or low without a high before it, wherever it stands —
 * is refused, as Python's str.encode("utf-8") refuses it.
 *
 * The module is imported inside each test after `vi.resetModules()`, so its module-level pattern
 * is compiled within the test that relies on it.
 */
import { beforeEach, describe, expect, it, vi } from "vitest";

type UnicodeModule = typeof import("../../../lib/util/unicode.js");

beforeEach(() => {
  vi.resetModules();
});

const load = (): Promise<UnicodeModule> => import("../../../lib/util/unicode.js");

const HIGH = "\uD83D";
const LOW = "\uDE00";
const PAIR = `${HIGH}${LOW}`; // 😀

describe("assertUnicode accepts what UTF-8 encodes", () => {
  it.each([
    ["plain ASCII", "secret-key"],
    ["one character", "a"],
    ["the empty string", ""],
    ["BMP text", "héllo wörld ✓"],
    ["a surrogate pair alone", PAIR],
    ["pairs in text", `a${PAIR}b${PAIR}${PAIR}c`],
    ["a pair at the start and at the end", `${PAIR}middle${PAIR}`],
  ])("%s", async (_name, value) => {
    const { assertUnicode } = await load();
    expect(() => assertUnicode(value, "secret")).not.toThrow();
  });
});

describe("assertUnicode refuses a lone surrogate wherever it is", () => {
  it.each([
    ["a high surrogate alone", HIGH],
    ["a high surrogate at the end", `abc${HIGH}`],
    ["a high surrogate followed by a letter", `${HIGH}a`],
    ["a high surrogate followed by another high one", `${HIGH}${HIGH}${LOW}`],
    ["a low surrogate alone", LOW],
    ["a low surrogate at the start", `${LOW}abc`],
    ["a low surrogate after a letter", `a${LOW}`],
    ["a low surrogate after a complete pair", `${PAIR}${LOW}`],
  ])("%s", async (_name, value) => {
    const { assertUnicode } = await load();
    expect(() => assertUnicode(value, "secret")).toThrow(new TypeError("secret must be valid Unicode (it has a lone surrogate)"));
  });
});
