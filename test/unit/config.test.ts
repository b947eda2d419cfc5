/**
 * Option validation (SPEC §1, STYLE principle 2, checklist 12 and 32): `fletAuth()` and the
 * provider constructors throw a TypeError naming the option and the fix, at call time.
 */
// express-session reads NODE_ENV once, when it is loaded: set it before any import so its
// MemoryStore production warning can be observed; restored after the suite.
const ORIGINAL_NODE_ENV = vi.hoisted(() => {
  const original = process.env["NODE_ENV"];
  process.env["NODE_ENV"] = "production";
  return original;
});

import type { Request, RequestHandler, Response } from "express";
import session from "express-session";
import request from "supertest";
import { afterAll, afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from "vitest";
import {
  Auth0OAuthProvider,
  AzureOAuthProvider,
  GitHubOAuthProvider,
  GoogleOAuthProvider,
  OAuthProvider,
  fletAuth,
  type FletAuthOptions,
  type OAuthProviderOptions,
} from "../../lib/index.js";
import { EXPRESS } from "../helpers/apps.js";

const SECRET = "config-suite-secret-0123456789abcdef0123";

const PROVIDER_OPTIONS: OAuthProviderOptions = {
  clientId: "client-id",
  clientSecret: "client-secret",
  authorizationEndpoint: "https://idp.example/authorize",
  tokenEndpoint: "https://idp.example/token",
  redirectUrl: "http://localhost:8550/oauth_callback",
};

const provider = (overrides: Partial<OAuthProviderOptions> = {}) => new OAuthProvider({ ...PROVIDER_OPTIONS, ...overrides });

/** Loosely typed: these tests pass what TypeScript users cannot, as JavaScript users can. */
const callFletAuth = (options: unknown) => fletAuth(options as FletAuthOptions);

/** Asserts `fn` throws a TypeError whose message names `path` and says what to do. */
function expectOptionError(fn: () => unknown, path: string | RegExp, fix: RegExp = /must|did you mean|e\.g\.|such as|use |pass /i): TypeError {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown, "expected a TypeError").toBeInstanceOf(TypeError);
  const message = (thrown as TypeError).message;
  if (typeof path === "string") expect(message).toContain(path);
  else expect(message).toMatch(path);
  expect(message).toMatch(fix);
  return thrown as TypeError;
}

let warn: MockInstance<typeof console.warn>;
beforeEach(() => {
  // express-session warns for every MemoryStore it creates here (NODE_ENV=production); keep the output clean.
  warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
});
afterEach(() => {
  warn.mockRestore();
});
afterAll(() => {
  if (ORIGINAL_NODE_ENV === undefined) delete process.env["NODE_ENV"];
  else process.env["NODE_ENV"] = ORIGINAL_NODE_ENV;
});

describe("fletAuth(options) validation", () => {
  it("accepts a minimal valid configuration (control)", () => {
    const auth = fletAuth({ providers: { demo: provider() }, secret: SECRET });
    expect(typeof auth).toBe("function");
    expect(typeof auth.on).toBe("function");
  });

  it.each([undefined, null, "options", 42, []])("options %j that is not an object", (value) => {
    expectOptionError(() => callFletAuth(value), /options/);
  });

  describe("providers", () => {
    it("missing", () => {
      expectOptionError(() => callFletAuth({ secret: SECRET }), "options.providers");
    });

    it("empty", () => {
      expectOptionError(() => callFletAuth({ providers: {}, secret: SECRET }), "options.providers");
    });

    it.each([["an array", [provider()]], ["a string", "github"], ["null", null]])("%s", (_what, providers) => {
      expectOptionError(() => callFletAuth({ providers, secret: SECRET }), "options.providers");
    });

    it.each([
      ["a plain options object", { ...PROVIDER_OPTIONS }],
      ["a string", "github"],
      ["the provider class itself", GitHubOAuthProvider],
      ["undefined", undefined],
    ])("a value that is not an OAuthProvider (%s)", (_what, value) => {
      const err = expectOptionError(() => callFletAuth({ providers: { github: value }, secret: SECRET }), "options.providers.github");
      expect(err.message).toMatch(/OAuthProvider/);
    });

    it.each(["git hub", "a/b", "../x", "", "x?y", "é", "a".repeat(65)])("a bad provider name %j", (name) => {
      const err = expectOptionError(() => callFletAuth({ providers: { [name]: provider() }, secret: SECRET }), "options.providers");
      expect(err.message).toContain(JSON.stringify(name).slice(1, -1).slice(0, 20));
    });

    it.each(["github", "my-idp", "idp_2", "A1"])("a good provider name %j (control)", (name) => {
      expect(() => fletAuth({ providers: { [name]: provider() }, secret: SECRET })).not.toThrow();
    });
  });

  describe("secret", () => {
    it("shorter than 32 characters: names the option and how to make one", () => {
      const err = expectOptionError(() => fletAuth({ providers: { demo: provider() }, secret: "too-short" }), "options.secret");
      expect(err.message).toMatch(/32/);
      expect(err.message).toMatch(/openssl rand|generate/i);
    });

    it("exactly 32 characters is enough (control)", () => {
      expect(() => fletAuth({ providers: { demo: provider() }, secret: "x".repeat(32) })).not.toThrow();
    });

    it.each([["a number", 1234567890123], ["an empty list", []], ["a list with a short one", [SECRET, "short"]], ["an object", {}]])(
      "%s",
      (_what, secret) => {
        expectOptionError(() => callFletAuth({ providers: { demo: provider() }, secret }), "options.secret");
      },
    );
  });

  describe("unknown options", () => {
    it.each([
      ["fetchUsers", "fetchUser"],
      ["secrets", "secret"],
      ["provider", "providers"],
      ["remeberMe", "rememberMe"],
      ["redirectToPages", "redirectToPage"],
      ["loginpath", "loginPath"],
    ])("%s → did you mean %s", (typo, meant) => {
      const err = expectOptionError(() => callFletAuth({ providers: { demo: provider() }, secret: SECRET, [typo]: true }), `options.${typo}`);
      expect(err.message).toMatch(new RegExp(`did you mean\\W+${meant}\\b`, "i"));
    });

    it("an option far from any known one is still named", () => {
      expectOptionError(() => callFletAuth({ providers: { demo: provider() }, secret: SECRET, zzzzzzzzzzzz: 1 }), "options.zzzzzzzzzzzz", /not a fletAuth option|unknown/i);
    });
  });

  describe("bad types", () => {
    const base = () => ({ providers: { demo: provider() }, secret: SECRET });

    it.each([
      ["fetchUser", "yes"],
      ["fetchUser", 1],
      ["fetchGroups", "true"],
      ["redirectToPage", "no"],
      ["scope", "repo"],
      ["scope", ["repo user"]],
      ["scope", [1]],
      ["scope", [""]],
      ["completePageHtml", 42],
      ["completePageHtml", { html: "<p>" }],
      ["rememberMe", "key"],
      ["rememberMe", true],
      ["loginPath", "login"],
      ["loginPath", "/login/"],
      ["loginPath", 5],
      ["loginPath", "/log in"],
      ["logoutPath", "logout"],
      ["assetsPath", "flet-auth"],
      ["defaultReturnTo", "//evil"],
      ["defaultReturnTo", "https://evil.example"],
      ["timeoutMs", -1],
      ["timeoutMs", "10000"],
      ["refreshMarginMs", Number.NaN],
      ["loginTimeoutMs", 0],
      ["clock", "now"],
      ["randomBytes", 5],
      ["session", "memory"],
    ])("options.%s = %j", (name, value) => {
      expectOptionError(() => callFletAuth({ ...base(), [name]: value }), `options.${name}`);
    });

    it.each([
      ["missing secretKey", {}, "options.rememberMe.secretKey"],
      ["short secretKey", { secretKey: "short" }, "options.rememberMe.secretKey"],
      ["bad cookieName", { secretKey: SECRET, cookieName: "bad name;" }, "options.rememberMe.cookieName"],
      ["negative maxAge", { secretKey: SECRET, maxAge: -1 }, "options.rememberMe.maxAge"],
    ])("options.rememberMe with %s", (_what, rememberMe, path) => {
      expectOptionError(() => callFletAuth({ ...base(), rememberMe }), path);
    });

    it("options.session.secret is refused with a pointer to options.secret", () => {
      const err = expectOptionError(() => callFletAuth({ ...base(), session: { secret: SECRET } }), "options.session.secret");
      expect(err.message).toContain("options.secret");
    });

    it.each([
      ["logger", "console"],
      ["logger", { warn: "nope" }],
      ["http", {}],
      ["refreshLock", {}],
      ["userAgent", 42],
    ])("options.%s = %j (every option is validated at call time, SPEC §1)", (name, value) => {
      expectOptionError(() => callFletAuth({ ...base(), [name]: value }), `options.${name}`);
    });

    it("valid values of the same options are accepted (control)", () => {
      expect(() =>
        fletAuth({
          ...base(),
          fetchUser: false,
          fetchGroups: true,
          scope: ["repo"],
          completePageHtml: (o) => `<p>${o.ok}</p>`,
          rememberMe: { secretKey: SECRET, cookieName: "remember", maxAge: 86_400_000 },
          loginPath: "/auth/login",
          logoutPath: "/auth/logout",
          assetsPath: "/auth/assets",
          defaultReturnTo: "/home",
          timeoutMs: 5000,
          clock: () => 0,
          randomBytes: (n) => new Uint8Array(n),
          session: { store: new session.MemoryStore() },
          logger: { warn: () => undefined, error: () => undefined },
          userAgent: "my-app",
        }),
      ).not.toThrow();
    });
  });

  it("app.use(fletAuth) misuse: called with a request-like object, it says to call it", () => {
    const fakeReq = { method: "GET", url: "/", headers: {} };
    expectOptionError(() => callFletAuth(fakeReq), /fletAuth\(\{/, /app\.use\(fletAuth\(/);
  });
});

describe.each(EXPRESS)("misuse and missing session through Express ($name)", ({ create }) => {
  function appWithErrors(setup: (app: ReturnType<typeof create>) => void) {
    const app = create();
    setup(app);
    const errors: Array<{ name?: string; code?: string; status?: number; message: string }> = [];
    app.use((err: { name?: string; code?: string; status?: number; message: string }, _req: Request, res: Response, _next: (e?: unknown) => void) => {
      void _next;
      errors.push(err);
      res.status(err.status ?? 500).json({ code: err.code ?? null, message: err.message });
    });
    return { app, errors };
  }

  it("app.use(fletAuth) without the call: the request fails with a TypeError saying how to mount it", async () => {
    const { app, errors } = appWithErrors((a) => a.use(fletAuth as unknown as RequestHandler));
    const res = await request(app).get("/anything");
    expect(res.status).toBe(500);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(TypeError);
    expect(errors[0]!.message).toMatch(/app\.use\(fletAuth\(/);
  });

  it("no secret: a TypeError at fletAuth() time that says how to make one — also when the app has its own session (SPEC §1b)", () => {
    const err = expectOptionError(() => fletAuth({ providers: { demo: provider() } } as unknown as FletAuthOptions), "secret");
    expect(err.message).toMatch(/required/);
    expect(err.message).toContain("openssl rand -base64 32");
    expect(err.message).not.toMatch(/\.\.$/);
  });

  it("the app mounted express-session first: fletAuth uses it (control)", async () => {
    const { app, errors } = appWithErrors((a) => {
      a.use(session({ secret: SECRET, resave: false, saveUninitialized: false }));
      a.use(fletAuth({ providers: { demo: provider() }, secret: SECRET }));
    });
    const res = await request(app).get("/login/demo");
    expect(res.status).toBe(302);
    expect(errors).toEqual([]);
  });

  it("the MemoryStore production warning is printed once per flet-auth-mounted session (on its first request), not per request", async () => {
    expect(process.env["NODE_ENV"]).toBe("production");
    const memoryWarnings = () => warn.mock.calls.filter((args) => /MemoryStore/.test(String(args[0]))).length;
    const auth = fletAuth({ providers: { demo: provider() }, secret: SECRET });
    const { app } = appWithErrors((a) => a.use(auth));
    expect((await request(app).get("/login/demo")).status).toBe(302);
    expect(memoryWarnings()).toBe(1);
    for (let i = 0; i < 3; i += 1) expect((await request(app).get("/login/demo")).status).toBe(302);
    expect(memoryWarnings()).toBe(1);
  });

  it("no MemoryStore warning when the app brings its own session or a real store", async () => {
    const memoryWarnings = () => warn.mock.calls.filter((args) => /MemoryStore/.test(String(args[0]))).length;
    class OtherStore extends session.Store {
      override get(_sid: string, cb: (err: unknown, s?: session.SessionData | null) => void): void {
        cb(null, null);
      }
      override set(_sid: string, _s: session.SessionData, cb?: (err?: unknown) => void): void {
        cb?.();
      }
      override destroy(_sid: string, cb?: (err?: unknown) => void): void {
        cb?.();
      }
    }
    const { app } = appWithErrors((a) => {
      a.use(session({ secret: SECRET, resave: false, saveUninitialized: false, store: new OtherStore() }));
      a.use(fletAuth({ providers: { demo: provider() }, secret: SECRET }));
    });
    await request(app).get("/login/demo");
    fletAuth({ providers: { demo: provider() }, secret: SECRET, session: { store: new OtherStore() } });
    expect(memoryWarnings()).toBe(0);
  });
});

describe("provider constructors", () => {
  describe("endpoints must be https (http only on loopback, checklist 12)", () => {
    it.each(["authorizationEndpoint", "tokenEndpoint"] as const)("%s on plain http to a public host is rejected", (key) => {
      const err = expectOptionError(() => provider({ [key]: "http://idp.example/x" }), key);
      expect(err.message).toMatch(/https/);
    });

    it("userEndpoint on plain http to a public host is rejected", () => {
      expectOptionError(() => provider({ userEndpoint: "http://api.example/me", userId: (u) => String(u["id"]) }), "userEndpoint");
    });

    it.each([
      "http://127.0.0.1.nip.io/token",
      "http://localhost.evil.example/token",
      "http://127.0.0.1@evil.example/token",
      "http://evil.example#@127.0.0.1/token",
      "http://0x7f.evil.example/token",
      "ftp://idp.example/token",
      "javascript:alert(1)",
      "/token",
      "",
    ])("look-alike or non-http(s) endpoint %j is rejected", (url) => {
      expectOptionError(() => provider({ tokenEndpoint: url }), "tokenEndpoint");
    });

    it.each(["http://127.0.0.1:9000/token", "http://localhost:9000/token", "http://[::1]:9000/token", "https://idp.example/token"])(
      "%j is accepted",
      (url) => {
        expect(provider({ tokenEndpoint: url, authorizationEndpoint: url.replace("/token", "/authorize") }).tokenEndpoint).toBe(url);
      },
    );
  });

  it.each([
    ["clientId", undefined],
    ["clientId", ""],
    ["clientId", 42],
    ["clientSecret", undefined],
    ["redirectUrl", undefined],
    ["redirectUrl", "/oauth_callback"],
  ])("%s = %j is rejected, naming the option", (key, value) => {
    expectOptionError(() => new OAuthProvider({ ...PROVIDER_OPTIONS, [key]: value } as OAuthProviderOptions), key);
  });

  it("userEndpoint without userId is rejected with an example", () => {
    const err = expectOptionError(() => provider({ userEndpoint: "https://idp.example/userinfo" }), "userId");
    expect(err.message).toMatch(/userEndpoint/);
  });

  it("built-in providers name themselves in their errors", () => {
    expectOptionError(
      () => new GitHubOAuthProvider({ clientSecret: "s", redirectUrl: PROVIDER_OPTIONS.redirectUrl } as never),
      "GitHubOAuthProvider options.clientId",
    );
    expectOptionError(() => new GoogleOAuthProvider({ clientId: "id", redirectUrl: PROVIDER_OPTIONS.redirectUrl } as never), /clientSecret/);
    expectOptionError(() => new Auth0OAuthProvider({ clientId: "id", clientSecret: "s", redirectUrl: PROVIDER_OPTIONS.redirectUrl } as never), /domain/);
  });

  it("Auth0 on a plain-http public domain is rejected", () => {
    expectOptionError(
      () => new Auth0OAuthProvider({ domain: "http://tenant.example", clientId: "id", clientSecret: "s", redirectUrl: PROVIDER_OPTIONS.redirectUrl }),
      /Endpoint/,
      /https/,
    );
  });

  describe("Azure tenant", () => {
    const azure = (tenant: string) => new AzureOAuthProvider({ clientId: "id", clientSecret: "s", redirectUrl: PROVIDER_OPTIONS.redirectUrl, tenant });

    it.each(["a/b", "../common", "common/oauth2", "x?y=1", "x#y", "common ", ""])("tenant %j is rejected", (tenant) => {
      expectOptionError(() => azure(tenant), "tenant");
    });

    it.each(["common", "organizations", "consumers", "contoso.onmicrosoft.com", "72f988bf-86f1-41af-91ab-2d7cd011db47"])(
      "tenant %j is accepted and used in the endpoints",
      (tenant) => {
        const p = azure(tenant);
        expect(p.authorizationEndpoint).toBe(`https://login.microsoftonline.com/${tenant}/oauth2/v2.0/authorize`);
        expect(p.tokenEndpoint).toBe(`https://login.microsoftonline.com/${tenant}/oauth2/v2.0/token`);
      },
    );
  });
});
