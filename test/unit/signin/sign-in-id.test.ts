/**
 * A session names a sign-in either by its id (the record is in flet-auth's store) or by the
 * sealed record itself (records kept in the session). `isSignInId` tells them apart: exactly 22
 * base64url characters (16 random bytes), nothing before or after. A sealed record is a Fernet
 * token, which starts with 22 base64url characters and, for one record length in three (no
 * base64 padding), also ends with 22; read as an id, that sign-in would be lost.
 */
import { beforeEach, describe, expect, it, vi } from "vitest";
import { hkdfKey } from "../../../lib/crypto/keys.js";
import { createSealer } from "../../../lib/crypto/sealer.js";

type Stored = typeof import("../../../lib/signin/stored.js");
let isSignInId: Stored["isSignInId"];

// Imported afresh inside each test: the pattern is a module-level constant, and mutation testing
// credits it only to tests that evaluate the module (docs/testing.md, Scores).
beforeEach(async () => {
  vi.resetModules();
  ({ isSignInId } = await import("../../../lib/signin/stored.js"));
});

const ID = "AbCdEfGhIjKlMnOpQrSt-_"; // 22 characters

describe("isSignInId", () => {
  it("accepts exactly 22 base64url characters", () => {
    expect(ID).toHaveLength(22);
    expect(isSignInId(ID)).toBe(true);
    expect(isSignInId(Buffer.alloc(16, 0xfb).toString("base64url"))).toBe(true);
  });

  it.each([
    ["21 characters", ID.slice(1)],
    ["23 characters", `${ID}A`],
    ["a character before the id", `.${ID}`],
    ["a character after the id", `${ID}.`],
    ["padding after the id", `${ID}==`],
    ["a character outside base64url", `${ID.slice(1)}+`],
  ])("refuses %s", (_what, value) => {
    expect(isSignInId(value)).toBe(false);
  });

  it("refuses sealed records of every length: padded (two lengths in three) and unpadded", async () => {
    const sealer = createSealer(["a-session-secret-of-at-least-32-characters"], "session-token", { derive: hkdfKey });
    const paddings = new Set<number>();
    for (let extra = 0; extra < 3; extra += 1) {
      const sealed = await sealer.seal(JSON.stringify({ id: ID, user: "u".repeat(16 * extra) }));
      paddings.add(sealed.length - sealed.replace(/=+$/, "").length);
      expect(/^[A-Za-z0-9_-]{22}/.test(sealed)).toBe(true);
      expect(isSignInId(sealed)).toBe(false);
    }
    // The three lengths cover no padding as well as padding.
    expect(paddings.has(0)).toBe(true);
    expect(paddings.size).toBeGreaterThan(1);
  });
});
