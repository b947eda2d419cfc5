/**
 * `returnTo` length (lib/flow/return-to.ts): a path of up to 2048 characters is kept, a longer
 * one falls back to the default (a URL that long is not a page of this app, and bounds the work
 * of checking it).
 */
import { describe, expect, it } from "vitest";
import { safeReturnTo } from "../../../lib/flow/return-to.js";

const pathOf = (length: number): string => `/${"a".repeat(length - 1)}`;

describe("safeReturnTo length", () => {
  it("2048 characters are kept", () => {
    expect(safeReturnTo(pathOf(2048))).toBe(pathOf(2048));
  });

  it("2049 characters are refused", () => {
    expect(safeReturnTo(pathOf(2049))).toBeUndefined();
  });
});
