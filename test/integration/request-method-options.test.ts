/**
 * `req.login(provider, options)` and `req.logout(provider, options)` called by app code with
 * options a JavaScript caller can get wrong: each mistake rejects with a TypeError that names the
 * option, before anything is written; every documented option name is accepted. Also: the two
 * methods refuse to run detached from their request.
 */
import express, { type Request } from "express";
import request from "supertest";
import { beforeEach, describe, expect, it, vi } from "vitest";

type Lib = typeof import("../../lib/index.js");
let lib: Lib;

// Imported afresh inside each test: the option-name sets are module-level constants, which
// mutation testing credits only to tests that evaluate the module (docs/testing.md, Scores).
beforeEach(async () => {
  vi.resetModules();
  lib = await import("../../lib/index.js");
});

type Call = (req: Request) => Promise<unknown>;

/** An app whose GET /try runs `call(req)` and answers what it settled with: `{ ok }` or the error's name and message. */
function appRunning(call: Call): express.Express {
  const app = express();
  app.use(
    lib.fletAuth({
      providers: {
        demo: new lib.OAuthProvider({
          clientId: "client-id",
          clientSecret: "client-secret",
          authorizationEndpoint: "https://idp.example/authorize",
          tokenEndpoint: "https://idp.example/token",
          redirectUrl: "http://127.0.0.1:8550/oauth_callback",
        }),
      },
      secret: "request-method-options-secret-0123456789",
      logger: { warn: () => undefined, error: () => undefined },
    }),
  );
  app.get("/try", (req, res) => {
    call(req).then(
      () => {
        if (!res.headersSent) res.json({ ok: true });
      },
      (err: unknown) => {
        const e = err as Error;
        if (!res.headersSent) res.json({ ok: false, name: e.name, message: e.message });
      },
    );
  });
  return app;
}

async function outcome(call: Call): Promise<{ status: number; body: { ok?: boolean; name?: string; message?: string } }> {
  const res = await request(appRunning(call)).get("/try");
  return { status: res.status, body: res.body as { ok?: boolean; name?: string; message?: string } };
}

const login = (options: unknown): Call => (req) => req.login("demo", options as never);
const logout = (options: unknown): Call => (req) => req.logout("demo", options as never);

describe("req.login options", () => {
  it.each([
    ["null", null, "req.login(provider, options): options must be an object"],
    ["a string", "remember", "req.login(provider, options): options must be an object"],
    ["an unknown option", { rememberMe: true }, 'req.login: unknown option "rememberMe"'],
    ["fetchUser not a boolean", { fetchUser: "yes" }, "req.login options.fetchUser must be true or false"],
    ["fetchGroups not a boolean", { fetchGroups: 1 }, "req.login options.fetchGroups must be true or false"],
    ["redirectToPage not a boolean", { redirectToPage: "no" }, "req.login options.redirectToPage must be true or false"],
    ["remember not a boolean", { remember: "true" }, "req.login options.remember must be true or false"],
    ["returnTo not a string", { returnTo: 42 }, 'req.login options.returnTo must be a relative path such as "/account"'],
    ["savedToken not a string", { savedToken: { access_token: "a" } }, "req.login options.savedToken must be the token JSON string (auth.token.toJson(), decrypted)"],
    ["onOpenAuthorizationUrl not a function", { onOpenAuthorizationUrl: "https://x" }, "req.login options.onOpenAuthorizationUrl must be a function (url) => void"],
  ])("%s is refused with a TypeError naming it", async (_what, options, message) => {
    const { body } = await outcome(login(options));
    expect(body).toEqual({ ok: false, name: "TypeError", message });
  });

  it("a scope that is not a list of strings is refused with the option's path", async () => {
    const { body } = await outcome(login({ scope: "read:user" }));
    expect(body.name).toBe("TypeError");
    expect(body.message).toMatch(/^req\.login options\.scope /);
  });

  it("a completePageHtml that is neither text nor a function is refused with the option's path", async () => {
    const { body } = await outcome(login({ completePageHtml: 42 }));
    expect(body.name).toBe("TypeError");
    expect(body.message).toMatch(/^req\.login options\.completePageHtml /);
  });

  it.each([
    ["fetchUser", { fetchUser: false }],
    ["fetchGroups", { fetchGroups: false }],
    ["scope", { scope: ["read:user"] }],
    ["completePageHtml", { completePageHtml: "<p>Signed in.</p>" }],
    ["redirectToPage", { redirectToPage: true }],
    ["onOpenAuthorizationUrl", { onOpenAuthorizationUrl: () => undefined }],
    ["returnTo", { returnTo: "/account" }],
    ["remember", { remember: false }],
  ])("%s is a known option: the login starts (a redirect to the provider)", async (_key, options) => {
    const { status, body } = await outcome(login(options));
    expect(body.message ?? "").not.toMatch(/unknown option|must be/);
    expect([200, 302]).toContain(status);
  });

  it("savedToken is a known option: a malformed token is refused as a token, not as an option", async () => {
    const { body } = await outcome(login({ savedToken: "not json" }));
    expect(body.ok).toBe(false);
    expect(body.message).not.toMatch(/unknown option|must be/);
  });

  it("an unknown provider is refused with the configured names, never the name asked for", async () => {
    const { body } = await outcome((req) => req.login("<script>", {}));
    expect(body).toEqual({ ok: false, name: "FletAuthError", message: "Unknown provider. Configured: demo." });
  });

  it("login detached from its request rejects with a TypeError that says how to call it", async () => {
    const { body } = await outcome((req) => {
      const detached = req.login;
      return detached("demo");
    });
    expect(body).toEqual({ ok: false, name: "TypeError", message: "call login as a method of the request: req.login(provider, options)" });
  });
});

describe("req.logout options", () => {
  it.each([
    ["null", null, "req.logout(provider, options): options must be an object such as { everywhere: true }"],
    ["an unknown option", { all: true }, 'req.logout: unknown option "all"'],
    ["everywhere not a boolean", { everywhere: "yes" }, "req.logout options.everywhere must be true or false"],
    ["idpLogout not a boolean", { idpLogout: 1 }, "req.logout options.idpLogout must be true or false"],
    ["returnTo not a string", { returnTo: ["/"] }, 'req.logout options.returnTo must be a relative path such as "/"'],
  ])("%s is refused with a TypeError naming it", async (_what, options, message) => {
    const { body } = await outcome(logout(options));
    expect(body).toEqual({ ok: false, name: "TypeError", message });
  });

  it.each([
    ["everywhere", { everywhere: false }],
    ["idpLogout", { idpLogout: false }],
    ["returnTo", { returnTo: "/" }],
  ])("%s is a known option: signing out of nothing succeeds", async (_key, options) => {
    const { body } = await outcome(logout(options));
    expect(body).toEqual({ ok: true });
  });

  it("logout detached from its request rejects with a TypeError that says how to call it", async () => {
    const { body } = await outcome((req) => {
      const detached = req.logout;
      return detached("demo");
    });
    expect(body).toEqual({ ok: false, name: "TypeError", message: "call logout as a method of the request: req.logout(provider, options)" });
  });
});
