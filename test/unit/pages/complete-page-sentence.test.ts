/**
 * `sentence` (lib/pages/complete-page.ts) looks only at the last character for punctuation: a
 * description with a full stop, "!", "?" or "…" inside it still gets its closing full stop.
 */
import { beforeEach, describe, expect, it, vi } from "vitest";
type Module = typeof import("../../../lib/pages/complete-page.js");
let sentence: Module["sentence"];
// Imported afresh inside each test, so that mutation testing credits these tests with the module
// (docs/testing.md, Scores).
beforeEach(async () => {
  vi.resetModules();
  ({ sentence } = await import("../../../lib/pages/complete-page.js"));
});

describe("sentence: punctuation inside the text", () => {
  it.each([
    ["The code expired. Sign in again", "The code expired. Sign in again."],
    ["Access denied (e.g. consent refused)", "Access denied (e.g. consent refused)."],
    ["Denied! Ask an admin  ", "Denied! Ask an admin."],
    ["Why? Unknown", "Why? Unknown."],
    ["Waiting… gave up", "Waiting… gave up."],
  ])("%j ends with a full stop: %j", (text, expected) => {
    expect(sentence(text)).toBe(expected);
  });
});
