/**
 * How far `returnTo` is percent-decoded before it is checked (lib/flow/return-to.ts): three rounds,
 * enough for the encoded open-redirect variants browsers and servers decode, and a bound on the work
 * for a value of any depth. What a fourth round would see is never looked at.
 */
import { describe, expect, it } from "vitest";
import { safeReturnTo } from "../../../lib/flow/return-to.js";

describe("safeReturnTo decodes at most three times", () => {
  it("what the third decoding reveals is checked: //evil encoded three times is refused", () => {
    // /%25252F -> /%252F -> /%2F -> /
    expect(safeReturnTo("/%25252F%25252Fevil")).toBeUndefined();
  });

  it("a malformed escape reached by the third decoding is refused", () => {
    // /%2525zz -> /%25zz -> /%zz -> URIError
    expect(safeReturnTo("/%2525zz")).toBeUndefined();
  });

  it("there is no fourth decoding: a path only a fourth round would find malformed is kept as it is", () => {
    // /%252525zz -> /%2525zz -> /%25zz -> /%zz, and decoding stops there.
    const value = "/search?q=%252525zz";
    expect(safeReturnTo(value)).toBe(value);
    // Kept verbatim, it is still a path on this origin.
    expect(new URL(value, "https://app.example").origin).toBe("https://app.example");
  });
});
