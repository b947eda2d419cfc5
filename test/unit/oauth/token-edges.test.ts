/**
 * OAuthToken (lib/oauth/token.ts) at its edges: the errors it throws (code, message, cause), what
 * `JSON.stringify(token)` shows (both secrets redacted, nothing else lost), the scope forms a saved
 * token may carry, numbers given as text, and fields given as null by a JavaScript caller.
 *
 * The module is imported inside each test after `vi.resetModules()`: its module-level constants
 * (the redaction marker) are then evaluated within the test that checks them.
 */
import { beforeEach, describe, expect, it, vi } from "vitest";

type TokenModule = typeof import("../../../lib/oauth/token.js");

beforeEach(() => {
  vi.resetModules();
});

const load = (): Promise<TokenModule> => import("../../../lib/oauth/token.js");

/** What `run` threw (failing the test when it returns). */
function thrown(run: () => unknown): Error & { code?: string; cause?: unknown } {
  try {
    run();
  } catch (err) {
    return err as Error & { code?: string; cause?: unknown };
  }
  throw new Error("expected a throw");
}

describe("OAuthToken errors say what is wrong", () => {
  it("the constructor refuses a non-string accessToken with a TypeError naming the field", async () => {
    const { OAuthToken } = await load();
    const err = thrown(() => new OAuthToken({ accessToken: 42 as unknown as string }));
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toBe("OAuthToken: accessToken must be a string");
  });

  it("fromResponse without access_token: invalid_token_response, 'The token response has no access_token.'", async () => {
    const { OAuthToken } = await load();
    const err = thrown(() => OAuthToken.fromResponse({ token_type: "Bearer" }, 0));
    expect(err.code).toBe("invalid_token_response");
    expect(err.message).toBe("The token response has no access_token.");
  });

  it("fromJson of text that is not JSON: invalid_saved_token, 'not valid JSON', the SyntaxError as cause", async () => {
    const { OAuthToken } = await load();
    const err = thrown(() => OAuthToken.fromJson("{not json"));
    expect(err.code).toBe("invalid_saved_token");
    expect(err.message).toBe("The saved token is not valid JSON.");
    expect(err.cause).toBeInstanceOf(SyntaxError);
  });

  it("fromJson of JSON without a string access_token: invalid_saved_token, 'has no access_token', no cause", async () => {
    const { OAuthToken } = await load();
    const err = thrown(() => OAuthToken.fromJson('{"refresh_token":"r"}'));
    expect(err.code).toBe("invalid_saved_token");
    expect(err.message).toBe("The saved token has no access_token.");
    expect(err.cause).toBeUndefined();
  });
});

describe("JSON.stringify(token) redacts both secrets and keeps the rest", () => {
  it("with a refresh token: both secrets are '[redacted]', snake_case secret keys are gone, the other fields stay", async () => {
    const { OAuthToken } = await load();
    const token = new OAuthToken({ accessToken: "secret-access", refreshToken: "secret-refresh", scope: ["a", "b"], tokenType: "Bearer", expiresIn: 60, expiresAt: 1060 });
    const text = JSON.stringify(token);
    expect(text).not.toContain("secret-access");
    expect(text).not.toContain("secret-refresh");
    expect(JSON.parse(text)).toStrictEqual({
      scope: ["a", "b"],
      token_type: "Bearer",
      expires_in: 60,
      expires_at: 1060,
      accessToken: "[redacted]",
      refreshToken: "[redacted]",
    });
  });

  it("without a refresh token: no refreshToken key at all (nothing to hide is not shown as hidden)", async () => {
    const { OAuthToken } = await load();
    const view = new OAuthToken({ accessToken: "secret-access" }).toJSON();
    expect(view).toStrictEqual({ accessToken: "[redacted]" });
    expect("refreshToken" in view).toBe(false);
  });

  it("an empty refresh token is still a refresh token: redacted, not dropped", async () => {
    const { OAuthToken } = await load();
    expect(new OAuthToken({ accessToken: "a", refreshToken: "" }).toJSON()).toStrictEqual({ accessToken: "[redacted]", refreshToken: "[redacted]" });
  });
});

describe("OAuthToken.fromJson: the scope forms a saved token may carry", () => {
  it("a scope list keeps only its strings", async () => {
    const { OAuthToken } = await load();
    const token = OAuthToken.fromJson('{"access_token":"a","scope":["read",1,null,{"x":1},"write"]}');
    expect(token.scope).toStrictEqual(["read", "write"]);
    expect(token.toJson()).toBe('{"access_token":"a","scope":["read","write"]}');
  });

  it("a space-delimited scope string (RFC 6749 §3.3) is split into a list", async () => {
    const { OAuthToken } = await load();
    expect(OAuthToken.fromJson('{"access_token":"a","scope":"read  write"}').scope).toStrictEqual(["read", "write"]);
  });
});

describe("OAuthToken.fromResponse: a scope list from the provider keeps only its strings", () => {
  it("non-strings in a JSON scope list are dropped", async () => {
    const { OAuthToken } = await load();
    expect(OAuthToken.fromResponse({ access_token: "a", scope: ["read", 7, false, "write"] }, 0).scope).toStrictEqual(["read", "write"]);
  });
});

describe("expires_in and expires_at: only finite numbers, or text that is one", () => {
  it("empty or blank text is no number (not 0): no expiry", async () => {
    const { OAuthToken } = await load();
    for (const text of ["", " ", "   "]) {
      const token = OAuthToken.fromResponse({ access_token: "a", expires_in: text, expires_at: text }, 1_000_000);
      expect(token.expiresIn, JSON.stringify(text)).toBeUndefined();
      expect(token.expiresAt, JSON.stringify(text)).toBeUndefined();
    }
  });

  it("text with spaces around a number is that number", async () => {
    const { OAuthToken } = await load();
    expect(OAuthToken.fromResponse({ access_token: "a", expires_in: " 3600 " }, 1_000_000).expiresIn).toBe(3600);
  });

  it("null, booleans, objects and non-finite numbers are no number", async () => {
    const { OAuthToken } = await load();
    for (const value of [null, true, false, [], {}, Number.NaN, Number.POSITIVE_INFINITY]) {
      const token = OAuthToken.fromResponse({ access_token: "a", expires_in: value, expires_at: value }, 1_000_000);
      expect(token.expiresIn, String(value)).toBeUndefined();
      expect(token.expiresAt, String(value)).toBeUndefined();
    }
    const saved = OAuthToken.fromJson('{"access_token":"a","expires_in":null,"expires_at":true}');
    expect(saved.expiresIn).toBeUndefined();
    expect(saved.expiresAt).toBeUndefined();
    expect(saved.toJson()).toBe('{"access_token":"a"}');
  });
});

describe("toJson() omits absent fields, null ones included", () => {
  it("fields given as null by a JavaScript caller are left out, as Flet leaves out None", async () => {
    const { OAuthToken } = await load();
    const fromRow = { accessToken: "a", tokenType: null, expiresIn: null, expiresAt: null, refreshToken: null } as unknown as ConstructorParameters<typeof OAuthToken>[0];
    expect(new OAuthToken(fromRow).toJson()).toBe('{"access_token":"a"}');
  });
});
