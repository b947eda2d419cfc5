/**
 * URL helpers with Python's semantics (lib/flow/query.ts), beyond the shared vectors: how an
 * endpoint's own query is read back (`parse_qsl(keep_blank_values=True)`) and kept in front of
 * flet-auth's parameters, and where a fragment goes (oauthlib's `add_params_to_uri`).
 */
import { describe, expect, it } from "vitest";
import { addQueryParams, parseQuery } from "../../../lib/flow/query.js";

describe("parseQuery (Python's parse_qsl, keep_blank_values=True)", () => {
  it("an empty query has no pairs", () => {
    expect(parseQuery("")).toEqual([]);
  });

  it("empty fields are dropped: a=1&&b=2& is two pairs", () => {
    expect(parseQuery("a=1&&b=2&")).toEqual([
      ["a", "1"],
      ["b", "2"],
    ]);
  });

  it("a field without = is a key with an empty value", () => {
    expect(parseQuery("prompt&x=")).toEqual([
      ["prompt", ""],
      ["x", ""],
    ]);
  });

  it("+ is a space and %XX is decoded, in keys and values; only the first = splits", () => {
    expect(parseQuery("a+b=c+d%21&e=f=g")).toEqual([
      ["a b", "c d!"],
      ["e", "f=g"],
    ]);
  });

  it("a malformed escape is kept as text, with + still a space", () => {
    expect(parseQuery("q=100%+sure")).toEqual([["q", "100% sure"]]);
  });
});

describe("addQueryParams (oauthlib's add_params_to_uri)", () => {
  const PAIRS = [
    ["response_type", "code"],
    ["state", "s t"],
  ] as const;

  it("without a query: base?pairs", () => {
    expect(addQueryParams("https://idp.example/authorize", PAIRS)).toBe("https://idp.example/authorize?response_type=code&state=s+t");
  });

  it("the endpoint's own query comes first, re-encoded the Python way", () => {
    expect(addQueryParams("https://idp.example/authorize?prompt&x=a%20b&&y=c+d", PAIRS)).toBe(
      "https://idp.example/authorize?prompt=&x=a+b&y=c+d&response_type=code&state=s+t",
    );
  });

  it("a fragment stays at the end, after the query", () => {
    expect(addQueryParams("https://idp.example/authorize?tenant=1#section", PAIRS)).toBe(
      "https://idp.example/authorize?tenant=1&response_type=code&state=s+t#section",
    );
    expect(addQueryParams("https://idp.example/authorize#x?y", PAIRS)).toBe("https://idp.example/authorize?response_type=code&state=s+t#x?y");
  });
});
