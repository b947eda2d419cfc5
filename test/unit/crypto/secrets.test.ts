/**
 * The secret-list rule (lib/crypto/secrets.ts): the session secret and the remember-me key are
 * at least 32 characters — 31 is refused with the option's path and the fix — and may be a
 * non-empty list, newest first, each entry checked.
 */
import { describe, expect, it } from "vitest";
import { fletAuth, OAuthProvider, type FletAuthOptions } from "../../../lib/index.js";
import { secretList } from "../../../lib/crypto/secrets.js";

const provider = new OAuthProvider({
  clientId: "client",
  clientSecret: "client-secret",
  authorizationEndpoint: "https://idp.example/authorize",
  tokenEndpoint: "https://idp.example/token",
  redirectUrl: "http://localhost/oauth_callback",
});

const chars = (n: number): string => "k".repeat(n);
const GOOD = chars(32);

function build(options: Partial<FletAuthOptions>): unknown {
  return fletAuth({ providers: { demo: provider }, secret: GOOD, ...options } as FletAuthOptions);
}

function thrownBy(fn: () => unknown): TypeError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TypeError);
    return err as TypeError;
  }
  throw new Error("expected a TypeError");
}

describe.each([
  ["options.secret", (value: unknown) => ({ secret: value }) as Partial<FletAuthOptions>],
  ["options.rememberMe.secretKey", (value: unknown) => ({ rememberMe: { secretKey: value } }) as Partial<FletAuthOptions>],
])("%s", (path, options) => {
  it("32 characters are accepted", () => {
    expect(() => build(options(GOOD))).not.toThrow();
  });

  it("31 characters are refused, naming the option and how to make a good one", () => {
    const err = thrownBy(() => build(options(chars(31))));
    expect(err.message).toBe(`${path} must be at least 32 characters; generate one with: openssl rand -base64 32`);
  });

  it("a list for rotation: every entry of 32 characters is accepted", () => {
    expect(() => build(options([GOOD, chars(40)]))).not.toThrow();
  });

  it("a list with one entry of 31 characters is refused, naming that entry", () => {
    const err = thrownBy(() => build(options([GOOD, chars(31)])));
    expect(err.message).toContain(`${path}[1] must be at least 32 characters`);
  });

  it.each([
    ["an empty list", []],
    ["a number", 32],
  ])("%s is refused", (_what, value) => {
    expect(thrownBy(() => build(options(value))).message).toBe(`${path} must be a string or a non-empty array of strings (newest first)`);
  });

  it("a list entry that is not a string is refused, naming that entry", () => {
    expect(thrownBy(() => build(options([GOOD, 42]))).message).toBe(`${path}[1] must be a string`);
  });
});

describe("secretList", () => {
  it("returns the secrets, newest first, frozen; a single string becomes a list of one", () => {
    const list = secretList("keys", ["new", "old"], 1);
    expect(list).toEqual(["new", "old"]);
    expect(Object.isFrozen(list)).toBe(true);
    expect(secretList("keys", "only", 1)).toEqual(["only"]);
  });

  it("does not share the caller's array: a later change to it changes nothing", () => {
    const given = ["a", "b"];
    const list = secretList("keys", given, 1);
    given[0] = "changed";
    expect(list).toEqual(["a", "b"]);
  });

  it("with a minimum of 1, an empty secret is refused as empty (no openssl hint for keys given in code)", () => {
    expect(thrownBy(() => secretList("keys", "", 1)).message).toBe("keys must be a non-empty string");
    expect(thrownBy(() => secretList("keys", ["a", ""], 1)).message).toBe("keys[1] must be a non-empty string");
  });

  it("a secret that is not valid Unicode (a lone surrogate) is refused, naming it", () => {
    expect(thrownBy(() => secretList("keys", [GOOD, `${GOOD}\uD800`], 32)).message).toContain("keys[1]");
  });
});
