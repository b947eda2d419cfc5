/**
 * `new OAuthProvider(options)` validation (lib/providers/provider.ts): every malformed option is
 * a TypeError at construction that names the option and says what is wrong, and the accepted
 * values are kept as given — hooks, scope lists, authorize parameters (the parameters flet-auth
 * sets itself are refused), ID-token signing algorithms (asymmetric only, matched by whole
 * name) and the client credentials.
 */
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { OAuthProviderOptions } from "../../../lib/index.js";
type Module = typeof import("../../../lib/providers/provider.js");
let OAuthProvider: Module["OAuthProvider"];
// Imported afresh inside each test: the module's tables (module-level constants) are then evaluated
// within a test, so that mutation testing credits these tests with them (docs/testing.md, Scores).
beforeEach(async () => {
  vi.resetModules();
  ({ OAuthProvider } = await import("../../../lib/providers/provider.js"));
});

const BASE: OAuthProviderOptions = {
  clientId: "client-id",
  clientSecret: "client-secret",
  authorizationEndpoint: "https://idp.example/authorize",
  tokenEndpoint: "https://idp.example/token",
  redirectUrl: "http://127.0.0.1/oauth_callback",
};

/** Loosely typed: JavaScript callers can pass anything. */
const build = (overrides: Record<string, unknown> = {}): InstanceType<Module["OAuthProvider"]> => new OAuthProvider({ ...BASE, ...overrides } as OAuthProviderOptions);

/** The TypeError `fn` throws (fails when it throws nothing or something else). */
function typeErrorOf(fn: () => unknown): TypeError {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown, "expected a TypeError").toBeInstanceOf(TypeError);
  return thrown as TypeError;
}

const RESERVED = ["response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method", "nonce"] as const;

describe("the options object itself", () => {
  it.each([null, undefined, "client-id", 42])("options %j: the error says an object with the required fields is expected", (value) => {
    const err = typeErrorOf(() => new OAuthProvider(value as unknown as OAuthProviderOptions));
    expect(err.message).toMatch(/^OAuthProvider options must be an object with clientId, clientSecret, authorizationEndpoint, tokenEndpoint and redirectUrl$/);
  });

  it("a custom option path (as the presets pass) prefixes the same error", () => {
    const err = typeErrorOf(() => new OAuthProvider(null as unknown as OAuthProviderOptions, "MyProvider options"));
    expect(err.message).toMatch(/^MyProvider options must be an object/);
  });
});

describe("client credentials", () => {
  it("an empty clientId: the error says it must be a non-empty string", () => {
    expect(typeErrorOf(() => build({ clientId: "" })).message).toMatch(/OAuthProvider options\.clientId must be a non-empty string \(read it from the environment/);
  });

  it("a clientSecret that is not a string: the error says it must be a string (an empty one is allowed)", () => {
    const err = typeErrorOf(() => build({ clientSecret: 5 }));
    expect(err.message).toMatch(/OAuthProvider options\.clientSecret must be a string \(read it from the environment/);
    expect(build({ clientSecret: "" }).clientSecret).toBe("");
  });

  it.each(["clíent", "client\tid", "client\nid"])("clientId %j outside printable ASCII: the error says printable ASCII only", (clientId) => {
    expect(typeErrorOf(() => build({ clientId })).message).toMatch(/OAuthProvider options\.clientId must contain printable ASCII characters only/);
  });
});

describe("requireIssuer and issuer", () => {
  it.each(["yes", 1, "true"])("requireIssuer %j (not a boolean) is refused even with an issuer set", (value) => {
    const err = typeErrorOf(() => build({ issuer: "https://idp.example", requireIssuer: value }));
    expect(err.message).toMatch(/OAuthProvider options\.requireIssuer must be true or false/);
  });

  it("requireIssuer true or false with an issuer is kept", () => {
    expect(build({ issuer: "https://idp.example", requireIssuer: true }).requireIssuer).toBe(true);
    expect(build({ issuer: "https://idp.example", requireIssuer: false }).requireIssuer).toBe(false);
  });

  it("an issuer off https: the error names issuer", () => {
    expect(typeErrorOf(() => build({ issuer: "http://idp.example" })).message).toMatch(/^OAuthProvider options\.issuer must use https:/);
  });
});

describe("hooks", () => {
  it.each([
    ["userId", "sub"],
    ["fetchUser", { url: "https://idp.example/me" }],
    ["fetchGroups", []],
  ])("%s that is not a function is refused, naming the hook", (hook, value) => {
    const err = typeErrorOf(() => build({ [hook]: value }));
    expect(err.message).toBe(`OAuthProvider options.${hook} must be a function`);
  });

  it("userEndpoint with a fetchUser hook and no userId is accepted (the hook supplies the id)", () => {
    const p = build({ userEndpoint: "https://idp.example/me", fetchUser: async () => ({ id: 7 }) });
    expect(p.userEndpoint).toBe("https://idp.example/me");
  });
});

describe("scope lists", () => {
  it.each([
    ["a string instead of an array", "openid"],
    ["an empty entry", ["openid", ""]],
    ["a non-string entry", ["openid", 5]],
  ])("scopes: %s is refused, with an example", (_what, scopes) => {
    expect(typeErrorOf(() => build({ scopes })).message).toMatch(/OAuthProvider options\.scopes must be an array of non-empty strings, e\.g\./);
  });

  it("groupScopes that is not a list: the error names groupScopes", () => {
    expect(typeErrorOf(() => build({ groupScopes: "read:org" })).message).toMatch(/^OAuthProvider options\.groupScopes must be an array of non-empty strings/);
  });

  it("lists are kept in order with duplicates dropped", () => {
    const p = build({ scopes: ["openid", "email", "openid"], groupScopes: ["read:org"], userScopes: ["profile"] });
    expect(p.scopes).toEqual(["openid", "email"]);
    expect(p.groupScopes).toEqual(["read:org"]);
    expect(p.userScopes).toEqual(["profile"]);
  });
});

describe("authorizationParams", () => {
  it.each([
    ["a string", "prompt=consent"],
    ["an array", ["consent"]],
    ["null", null],
  ])("%s is refused: the error asks for an object of string values", (_what, value) => {
    expect(typeErrorOf(() => build({ authorizationParams: value })).message).toMatch(
      /OAuthProvider options\.authorizationParams must be an object of string values/,
    );
  });

  it("a value that is not a string is refused, naming the parameter", () => {
    expect(typeErrorOf(() => build({ authorizationParams: { prompt: 5 } })).message).toBe("OAuthProvider options.authorizationParams.prompt must be a string");
  });

  it("empty values (undefined, null, \"\") are skipped as Flet does; strings are kept", () => {
    const p = build({ authorizationParams: { prompt: null, login_hint: "", display: undefined, access_type: "offline" } });
    expect(p.authorizationParams).toEqual({ access_type: "offline" });
  });

  it.each(RESERVED)("%s is set by flet-auth and cannot be configured", (name) => {
    expect(typeErrorOf(() => build({ authorizationParams: { [name]: "x" } })).message).toBe(
      `OAuthProvider options.authorizationParams.${name} is set by flet-auth and cannot be configured`,
    );
  });

  it.each(RESERVED)("an authorizationEndpoint carrying %s in its query is refused", (name) => {
    expect(typeErrorOf(() => build({ authorizationEndpoint: `https://idp.example/authorize?${name}=x` })).message).toMatch(
      new RegExp(`authorizationEndpoint must not carry "${name}" in its query`),
    );
  });

  it("other parameters, in the endpoint's query or configured, are kept", () => {
    const p = build({ authorizationEndpoint: "https://idp.example/authorize?tenant=a", authorizationParams: { audience: "api" } });
    expect(p.authorizationEndpoint).toBe("https://idp.example/authorize?tenant=a");
    expect(p.authorizationParams).toEqual({ audience: "api" });
  });
});

describe("idTokenSigningAlgorithms", () => {
  const ACCEPTED = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "ES256K", "EdDSA", "Ed25519"];

  it("every asymmetric algorithm is accepted and kept in order; the default is RS256", () => {
    expect(build({ idTokenSigningAlgorithms: ACCEPTED }).idTokenSigningAlgorithms).toEqual(ACCEPTED);
    expect(build().idTokenSigningAlgorithms).toEqual(["RS256"]);
  });

  it.each([
    ["an empty list", []],
    ["a string", "RS256"],
    ["a list with a non-string", ["RS256", 5]],
    ["a list of one non-string", [256]],
  ])("%s: the error asks for a non-empty array of algorithm names", (_what, value) => {
    expect(typeErrorOf(() => build({ idTokenSigningAlgorithms: value })).message).toMatch(
      /OAuthProvider options\.idTokenSigningAlgorithms must be a non-empty array of JWS algorithm names/,
    );
  });

  it("an entry that is not a string is refused even when it prints as a good name", () => {
    const lookalike = { toString: () => "RS256" };
    typeErrorOf(() => build({ idTokenSigningAlgorithms: [lookalike] }));
    typeErrorOf(() => build({ idTokenSigningAlgorithms: ["ES256", lookalike] }));
  });

  it.each(["none", "HS256", "HS512"])("%s can be forged and is refused, the error naming it", (alg) => {
    const err = typeErrorOf(() => build({ idTokenSigningAlgorithms: ["RS256", alg] }));
    expect(err.message).toBe(
      `OAuthProvider options.idTokenSigningAlgorithms: ${alg} cannot be accepted (none and HMAC algorithms can be forged); use RS256, PS256, ES256 or EdDSA`,
    );
  });

  it("every refused algorithm is listed, separated by commas", () => {
    expect(typeErrorOf(() => build({ idTokenSigningAlgorithms: ["HS256", "RS256", "none"] })).message).toMatch(/: HS256, none cannot be accepted/);
  });

  it.each(["xRS256", "RS256x", "HS-ES512", "xES256K", "ES256Kx", "xEdDSA", "EdDSAx", "xEd25519", "Ed25519x"])(
    "%j is refused: names match whole, not as a prefix or suffix",
    (alg) => {
      expect(typeErrorOf(() => build({ idTokenSigningAlgorithms: [alg] })).message).toContain(`${alg} cannot be accepted`);
    },
  );
});
