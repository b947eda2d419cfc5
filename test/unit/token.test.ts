/**
 * OAuthToken against Flet's token JSON (shared/vectors/oauth-token.json): byte-exact toJson(),
 * tolerant fromJson(), fromResponse() as oauthlib ≥ 3.3 computes it, expiry and refresh merging.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { FletAuthError, OAuthToken, type OAuthTokenFields } from "../../lib/index.js";
import { vectorPath } from "../helpers/vectors.js";

interface VectorFields {
  access_token: string;
  scope: string[] | null;
  token_type: string | null;
  expires_in: number | null;
  expires_at: number | null;
  refresh_token: string | null;
}

interface TokenCase {
  name: string;
  fields: VectorFields;
  json: string;
  token_endpoint_response?: { content_type: string; body: string; now?: number; oauthlib?: string };
}

const vectors = JSON.parse(
  readFileSync(vectorPath("oauth-token.json"), "utf8"),
) as { cases: TokenCase[] };
const cases = vectors.cases;
const withResponse = cases.filter((c) => c.token_endpoint_response !== undefined);

/** Every OAuthToken field, present (possibly undefined), so toEqual compares all six. */
interface AllFields extends OAuthTokenFields {
  accessToken: string;
  scope: readonly string[] | undefined;
  tokenType: string | undefined;
  expiresIn: number | undefined;
  expiresAt: number | undefined;
  refreshToken: string | undefined;
}

/** Vector fields (snake_case, null = None) as OAuthToken fields (camelCase, undefined). */
function camel(f: VectorFields): AllFields {
  return {
    accessToken: f.access_token,
    scope: f.scope ?? undefined,
    tokenType: f.token_type ?? undefined,
    expiresIn: f.expires_in ?? undefined,
    expiresAt: f.expires_at ?? undefined,
    refreshToken: f.refresh_token ?? undefined,
  };
}

function fieldsOf(t: OAuthToken): AllFields {
  return {
    accessToken: t.accessToken,
    scope: t.scope === undefined ? undefined : [...t.scope],
    tokenType: t.tokenType,
    expiresIn: t.expiresIn,
    expiresAt: t.expiresAt,
    refreshToken: t.refreshToken,
  };
}

/** The token endpoint's body as the HTTP layer hands it over: JSON, or a form parsed with URLSearchParams. */
function responseBody(r: NonNullable<TokenCase["token_endpoint_response"]>): Record<string, unknown> {
  if (r.content_type.startsWith("application/json")) return JSON.parse(r.body) as Record<string, unknown>;
  return Object.fromEntries(new URLSearchParams(r.body));
}

function expectSavedTokenError(json: string): void {
  let caught: unknown;
  try {
    OAuthToken.fromJson(json);
  } catch (err) {
    caught = err;
  }
  expect(caught, `fromJson(${JSON.stringify(json)}) should throw`).toBeInstanceOf(FletAuthError);
  expect((caught as FletAuthError).code).toBe("invalid_saved_token");
}

describe("OAuthToken vectors (oauth-token.json)", () => {
  it("has the cases this suite is written for", () => {
    expect(cases.map((c) => c.name)).toEqual(
      expect.arrayContaining(["github_oauth_app_no_expiry", "auth0_with_refresh_int_expires_at", "google_no_refresh_float_expires_at", "edge_non_ascii_escaping"]),
    );
    expect(withResponse.length).toBeGreaterThanOrEqual(3);
  });

  describe.each(cases)("$name", (c) => {
    it("fromJson(json).toJson() round-trips byte for byte", () => {
      expect(OAuthToken.fromJson(c.json).toJson()).toBe(c.json);
    });

    it("fromJson(json) yields the vector's fields", () => {
      expect(fieldsOf(OAuthToken.fromJson(c.json))).toEqual(camel(c.fields));
    });

    it("a token built from the fields writes Flet's exact JSON", () => {
      expect(new OAuthToken(camel(c.fields)).toJson()).toBe(c.json);
    });
  });

  const form = withResponse.find((c) => c.token_endpoint_response?.content_type.startsWith("application/x-www-form-urlencoded"));
  const oauthlib33 = withResponse.find((c) => c.token_endpoint_response?.oauthlib === ">=3.3");
  const oauthlib32 = withResponse.find((c) => c.token_endpoint_response?.oauthlib === "3.2.x");

  it("fromResponse on GitHub's form-encoded answer yields the vector's fields (comma scope stays one element)", () => {
    expect(form).toBeDefined();
    const r = form!.token_endpoint_response!;
    const token = OAuthToken.fromResponse(responseBody(r), (r.now ?? 1_767_225_600) * 1000);
    expect(fieldsOf(token)).toEqual(camel(form!.fields));
    expect(token.toJson()).toBe(form!.json);
  });

  it("fromResponse (oauthlib ≥ 3.3 case) yields the vector's fields, int expires_at = round(now) + expires_in, id_token dropped", () => {
    expect(oauthlib33).toBeDefined();
    const r = oauthlib33!.token_endpoint_response!;
    expect(r.now).toBeDefined();
    const token = OAuthToken.fromResponse(responseBody(r), r.now! * 1000);
    expect(fieldsOf(token)).toEqual(camel(oauthlib33!.fields));
    expect(Number.isInteger(token.expiresAt)).toBe(true);
    expect(token.toJson()).toBe(oauthlib33!.json);
    expect(token.toJson()).not.toContain("id_token");
  });

  /*
   * Intentional difference: oauthlib 3.2.x computes expires_at = time.time() + expires_in, a float
   * (the vector's 1767229199.123456). flet-auth computes it as oauthlib ≥ 3.3 does,
   * round(now) + expires_in, an integer. Both read back through fromJson (see the round trip).
   */
  it("fromResponse (oauthlib 3.2.x case) keeps expires_in and uses round(now) + expires_in, not the 3.2.x float", () => {
    expect(oauthlib32).toBeDefined();
    const r = oauthlib32!.token_endpoint_response!;
    expect(r.now).toBeDefined();
    const token = OAuthToken.fromResponse(responseBody(r), r.now! * 1000);
    const expected = camel(oauthlib32!.fields);
    expect(token.expiresIn).toBe(expected.expiresIn);
    expect(token.expiresAt).toBe(Math.round(r.now!) + expected.expiresIn!);
    expect(token.expiresAt).not.toBe(expected.expiresAt);
    expect(Number.isInteger(token.expiresAt)).toBe(true);
    expect({ ...fieldsOf(token), expiresAt: expected.expiresAt }).toEqual(expected);
  });
});

describe("OAuthToken.fromResponse", () => {
  it("rejects a body without access_token with invalid_token_response", () => {
    for (const body of [{}, { token_type: "Bearer" }, { access_token: "" }, { access_token: 42 }]) {
      let caught: unknown;
      try {
        OAuthToken.fromResponse(body, 0);
      } catch (err) {
        caught = err;
      }
      expect(caught, JSON.stringify(body)).toBeInstanceOf(FletAuthError);
      expect((caught as FletAuthError).code).toBe("invalid_token_response");
    }
  });

  it("casts a form-encoded (string) expires_in to an integer", () => {
    const token = OAuthToken.fromResponse(Object.fromEntries(new URLSearchParams("access_token=a&expires_in=3600&token_type=bearer")), 1_000_000_400);
    expect(token.expiresIn).toBe(3600);
    expect(token.expiresAt).toBe(1_000_000 + 3600);
  });

  it("keeps a JSON scope list as a list and splits a scope string on spaces", () => {
    expect(OAuthToken.fromResponse({ access_token: "a", scope: ["x y", "z"] }, 0).scope).toEqual(["x y", "z"]);
    expect(OAuthToken.fromResponse({ access_token: "a", scope: "x y z" }, 0).scope).toEqual(["x", "y", "z"]);
  });

  it("an empty scope string writes no scope key, as Flet does with GitHub's form-encoded scope=", () => {
    const form = OAuthToken.fromResponse(Object.fromEntries(new URLSearchParams("access_token=a&scope=&token_type=bearer")), 0);
    expect(form.scope).toBeUndefined();
    expect(form.toJson()).toBe('{"access_token":"a","token_type":"bearer"}');
    for (const scope of ["", " ", "  "]) {
      const token = OAuthToken.fromResponse({ access_token: "a", scope, token_type: "Bearer" }, 0);
      expect(token.scope, JSON.stringify(scope)).toBeUndefined();
      expect(token.toJson()).toBe('{"access_token":"a","token_type":"Bearer"}');
    }
    // An empty JSON list is a list the provider sent, and Flet writes it: kept.
    expect(OAuthToken.fromResponse({ access_token: "a", scope: [] }, 0).toJson()).toBe('{"access_token":"a","scope":[]}');
  });

  it("a refresh answered with an empty scope string leaves the token with no scope", () => {
    const old = new OAuthToken({ accessToken: "old", scope: ["a"], refreshToken: "r" });
    expect(old.refreshedWith({ access_token: "new", scope: "" }, 0).toJson()).toBe('{"access_token":"new","refresh_token":"r"}');
  });

  it("sets no expiry when the response has none", () => {
    const token = OAuthToken.fromResponse({ access_token: "a", token_type: "bearer" }, 1_767_225_600_000);
    expect(token.expiresIn).toBeUndefined();
    expect(token.expiresAt).toBeUndefined();
  });
});

describe("OAuthToken.fromJson", () => {
  const auth0 = cases.find((c) => c.name === "auth0_with_refresh_int_expires_at")!;
  const google = cases.find((c) => c.name === "google_no_refresh_float_expires_at")!;

  it("tolerates unknown keys such as id_token (Flet raises TypeError)", () => {
    const withIdToken = auth0.json.replace(/}$/, ',"id_token":"eyJhbGciOiJSUzI1NiJ9.e30.c2ln","refresh_token_expires_in":15897600}');
    const token = OAuthToken.fromJson(withIdToken);
    expect(fieldsOf(token)).toEqual(camel(auth0.fields));
    expect(token.toJson()).toBe(auth0.json);
  });

  it("reads an int expires_at and a float expires_at as they are", () => {
    expect(OAuthToken.fromJson(auth0.json).expiresAt).toBe(1767312000);
    expect(OAuthToken.fromJson(google.json).expiresAt).toBe(1767229199.123456);
    expect(OAuthToken.fromJson('{"access_token":"a","expires_at":1767229199.5}').toJson()).toBe('{"access_token":"a","expires_at":1767229199.5}');
  });

  it("rejects text that is not JSON with invalid_saved_token", () => {
    for (const text of ["", "not json", "{", '{"access_token":"a"', "gAAAAABk-fernet-token"]) expectSavedTokenError(text);
  });

  it("rejects JSON without a string access_token with invalid_saved_token", () => {
    for (const text of ["{}", '{"scope":["a"],"token_type":"Bearer"}', '{"access_token":null}', '{"access_token":123}', "[]", "null", '"a"', "42"]) {
      expectSavedTokenError(text);
    }
  });
});

describe("OAuthToken.isExpiring", () => {
  const token = new OAuthToken({ accessToken: "a", expiresAt: 1000 });

  it("is false while now + margin is before expires_at", () => {
    expect(token.isExpiring(900_000, 60000)).toBe(false);
    expect(token.isExpiring(939_999, 60000)).toBe(false);
    expect(token.isExpiring(999_999, 0)).toBe(false);
  });

  it("is true once now + margin reaches expires_at", () => {
    expect(token.isExpiring(940_000, 60000)).toBe(true);
    expect(token.isExpiring(900_000, 100000)).toBe(true);
    expect(token.isExpiring(1_000_000, 0)).toBe(true);
    expect(token.isExpiring(5_000_000, 0)).toBe(true);
  });

  it("works with a float expires_at", () => {
    const float = new OAuthToken({ accessToken: "a", expiresAt: 1000.5 });
    expect(float.isExpiring(1_000_400, 0)).toBe(false);
    expect(float.isExpiring(1_000_500, 0)).toBe(true);
  });

  it("is never true without expires_at (GitHub OAuth App tokens)", () => {
    const noExpiry = new OAuthToken({ accessToken: "a", refreshToken: "r" });
    expect(noExpiry.isExpiring(Number.MAX_SAFE_INTEGER, 86_400)).toBe(false);
  });
});

describe("OAuthToken.refreshedWith", () => {
  const old = new OAuthToken({ accessToken: "old", scope: ["a", "b"], tokenType: "Bearer", expiresIn: 60, expiresAt: 1060, refreshToken: "r1" });

  it("keeps the old refresh token when the response omits one", () => {
    const next = old.refreshedWith({ access_token: "new", token_type: "Bearer", expires_in: 3600 }, 2_000_000);
    expect(next.accessToken).toBe("new");
    expect(next.refreshToken).toBe("r1");
    expect(next.expiresIn).toBe(3600);
    expect(next.expiresAt).toBe(2000 + 3600);
    // Like Flet, every other field comes from the response only: scope is not carried over.
    expect(next.scope).toBeUndefined();
  });

  it("keeps the old refresh token when the response's refresh_token is empty", () => {
    expect(old.refreshedWith({ access_token: "new", refresh_token: "" }, 0).refreshToken).toBe("r1");
  });

  it("takes the new refresh token when the response carries one", () => {
    const next = old.refreshedWith({ access_token: "new", refresh_token: "r2", scope: "a" }, 0);
    expect(next.refreshToken).toBe("r2");
    expect(next.scope).toEqual(["a"]);
  });

  it("leaves the old token unchanged", () => {
    old.refreshedWith({ access_token: "new", refresh_token: "r2" }, 0);
    expect(fieldsOf(old)).toEqual({ accessToken: "old", scope: ["a", "b"], tokenType: "Bearer", expiresIn: 60, expiresAt: 1060, refreshToken: "r1" });
  });

  it("rejects a refresh response without access_token", () => {
    expect(() => old.refreshedWith({ refresh_token: "r2" }, 0)).toThrow(FletAuthError);
  });
});
