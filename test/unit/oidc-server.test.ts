/**
 * The in-process oidc-provider (examples/demo/idp.ts) on its own, driven with
 * plain fetch: discovery, code flow with S256 PKCE, userinfo, refresh-token
 * rotation and reuse detection, deny, PKCE enforcement, grant counters.
 */
import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi, type MockInstance } from "vitest";

import { startDemoIdp, type DemoIdp } from "../../examples/demo/idp.js";

const CLIENT_ID = "flet-auth-test";
const CLIENT_SECRET = "s3cret-for-tests";
const REDIRECT_URI = "http://127.0.0.1:45678/oauth_callback";
const DEMO_REDIRECT_URI = "http://localhost:8550/oauth_callback";
const SCOPE = "openid profile email offline_access";

type Json = Record<string, unknown>;

interface Pkce {
  verifier: string;
  challenge: string;
}

function pkce(): Pkce {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
}

function authorizeUrl(
  idp: DemoIdp,
  params: { challenge?: string; method?: string; redirectUri?: string; state?: string; clientId?: string } = {},
): string {
  const url = new URL(idp.authorizationEndpoint);
  url.searchParams.set("response_type", "code");
  url.searchParams.set("client_id", params.clientId ?? CLIENT_ID);
  url.searchParams.set("redirect_uri", params.redirectUri ?? REDIRECT_URI);
  url.searchParams.set("scope", SCOPE);
  url.searchParams.set("state", params.state ?? randomBytes(8).toString("hex"));
  if (params.challenge !== undefined) {
    url.searchParams.set("code_challenge", params.challenge);
    url.searchParams.set("code_challenge_method", params.method ?? "S256");
  }
  return url.href;
}

async function tokenRequest(
  idp: DemoIdp,
  params: Record<string, string>,
  auth: "client_secret_post" | "client_secret_basic" = "client_secret_post",
  credentials: { id: string; secret: string } = { id: CLIENT_ID, secret: CLIENT_SECRET },
): Promise<{ status: number; body: Json }> {
  const headers: Record<string, string> = {
    "content-type": "application/x-www-form-urlencoded",
    accept: "application/json",
  };
  const form = new URLSearchParams(params);
  if (auth === "client_secret_post") {
    form.set("client_id", credentials.id);
    form.set("client_secret", credentials.secret);
  } else {
    const encode = (s: string): string => encodeURIComponent(s);
    headers.authorization = `Basic ${Buffer.from(`${encode(credentials.id)}:${encode(credentials.secret)}`).toString("base64")}`;
  }
  const res = await fetch(idp.tokenEndpoint, { method: "POST", headers, body: form });
  return { status: res.status, body: (await res.json()) as Json };
}

async function exchangeCode(
  idp: DemoIdp,
  callback: string,
  verifier: string | undefined,
  redirectUri = REDIRECT_URI,
): Promise<{ status: number; body: Json }> {
  const code = new URL(callback).searchParams.get("code");
  expect(code, `no code in ${callback}`).toBeTruthy();
  const params: Record<string, string> = {
    grant_type: "authorization_code",
    code: code ?? "",
    redirect_uri: redirectUri,
  };
  if (verifier !== undefined) params.code_verifier = verifier;
  return tokenRequest(idp, params);
}

async function userinfo(idp: DemoIdp, accessToken: string): Promise<{ status: number; body: Json }> {
  const res = await fetch(idp.userinfoEndpoint, { headers: { authorization: `Bearer ${accessToken}` } });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Json) : {} };
}

/** Sign in as the default demo user and exchange the code; returns the token response. */
async function loggedIn(idp: DemoIdp): Promise<Json> {
  const { verifier, challenge } = pkce();
  const callback = await idp.signIn(authorizeUrl(idp, { challenge }));
  const tokens = await exchangeCode(idp, callback, verifier);
  expect(tokens.status).toBe(200);
  return tokens.body;
}

function str(value: unknown): string {
  expect(typeof value).toBe("string");
  return value as string;
}

describe("demo IdP (oidc-provider in-process)", () => {
  let idp: DemoIdp;
  const logLines: string[] = [];
  const consoleSpies: MockInstance[] = [];

  beforeAll(async () => {
    for (const method of ["log", "info", "warn", "error", "debug"] as const) {
      consoleSpies.push(vi.spyOn(console, method));
    }
    idp = await startDemoIdp({
      clients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [REDIRECT_URI, DEMO_REDIRECT_URI] }],
      accessTokenTtl: 60,
      logger: (line) => logLines.push(line),
    });
  });

  afterAll(async () => {
    await idp?.close();
    for (const spy of consoleSpies) spy.mockRestore();
  });

  it("binds to loopback and exposes its endpoints", () => {
    expect(idp.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(idp.issuer).toBe(`http://127.0.0.1:${idp.port}`);
    expect(idp.authorizationEndpoint).toBe(`${idp.issuer}/auth`);
    expect(idp.tokenEndpoint).toBe(`${idp.issuer}/token`);
    expect(idp.userinfoEndpoint).toBe(`${idp.issuer}/me`);
    expect(idp.users.map((u) => u.email)).toEqual(["demo@example.com"]);
  });

  it("serves the discovery document", async () => {
    const res = await fetch(`${idp.issuer}/.well-known/openid-configuration`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as Json;
    expect(doc).toMatchObject({
      issuer: idp.issuer,
      authorization_endpoint: idp.authorizationEndpoint,
      token_endpoint: idp.tokenEndpoint,
      userinfo_endpoint: idp.userinfoEndpoint,
      code_challenge_methods_supported: ["S256"],
      response_types_supported: ["code"],
    });
    expect(doc.grant_types_supported).toEqual(expect.arrayContaining(["authorization_code", "refresh_token"]));
    expect(doc.grant_types_supported).not.toContain("implicit");
    expect([...(doc.token_endpoint_auth_methods_supported as string[])].sort()).toEqual([
      "client_secret_basic",
      "client_secret_post",
    ]);
    expect(doc.scopes_supported).toEqual(expect.arrayContaining(["openid", "profile", "email", "offline_access"]));
    expect(doc.claims_supported).toEqual(expect.arrayContaining(["sub", "name", "email", "groups"]));
  });

  it("runs a full authorization-code flow with PKCE, userinfo, refresh rotation and reuse detection", async () => {
    const codeBefore = idp.grants("authorization_code");
    const refreshBefore = idp.grants("refresh_token");

    const { verifier, challenge } = pkce();
    const state = "state-<&>-123";
    const callback = await idp.signIn(authorizeUrl(idp, { challenge, state }));
    const cb = new URL(callback);
    expect(`${cb.origin}${cb.pathname}`).toBe(REDIRECT_URI);
    expect(cb.searchParams.get("state")).toBe(state);
    expect(cb.searchParams.get("iss")).toBe(idp.issuer);
    expect(cb.searchParams.get("error")).toBeNull();

    const tokens = await exchangeCode(idp, callback, verifier);
    expect(tokens.status).toBe(200);
    expect(tokens.body).toMatchObject({ token_type: "Bearer", expires_in: 60 });
    const accessToken = str(tokens.body.access_token);
    const refreshToken = str(tokens.body.refresh_token);
    expect(accessToken.split(".")).toHaveLength(1); // opaque, not a JWT
    expect(str(tokens.body.id_token).split(".")).toHaveLength(3);
    expect(str(tokens.body.scope).split(" ")).toEqual(expect.arrayContaining(["openid", "profile", "email"]));

    const me = await userinfo(idp, accessToken);
    expect(me.status).toBe(200);
    expect(me.body).toEqual({
      sub: "demo-user-1",
      name: "Demo User",
      email: "demo@example.com",
      email_verified: true,
      groups: ["admins", "demo"],
    });

    // Refresh once: a new access token AND a new (rotated) refresh token.
    const refreshed = await tokenRequest(idp, { grant_type: "refresh_token", refresh_token: refreshToken });
    expect(refreshed.status).toBe(200);
    const newAccessToken = str(refreshed.body.access_token);
    const newRefreshToken = str(refreshed.body.refresh_token);
    expect(newAccessToken).not.toBe(accessToken);
    expect(newRefreshToken).not.toBe(refreshToken);
    expect(refreshed.body.expires_in).toBe(60);
    expect((await userinfo(idp, newAccessToken)).body).toMatchObject({ sub: "demo-user-1", groups: ["admins", "demo"] });

    // Reusing the rotated-out refresh token is rejected...
    const reused = await tokenRequest(idp, { grant_type: "refresh_token", refresh_token: refreshToken });
    expect(reused.status).toBe(400);
    expect(reused.body.error).toBe("invalid_grant");
    // ...and (reuse detection) revokes the whole grant, including the latest refresh token.
    const afterReuse = await tokenRequest(idp, { grant_type: "refresh_token", refresh_token: newRefreshToken });
    expect(afterReuse.status).toBe(400);
    expect(afterReuse.body.error).toBe("invalid_grant");
    expect((await userinfo(idp, newAccessToken)).status).toBe(401);

    expect(idp.grants("authorization_code")).toEqual({ success: codeBefore.success + 1, error: codeBefore.error });
    expect(idp.grants("refresh_token")).toEqual({
      success: refreshBefore.success + 1,
      error: refreshBefore.error + 2,
    });
  });

  it("accepts client_secret_basic and the demo's http://localhost:8550 redirect URI", async () => {
    const { verifier, challenge } = pkce();
    const callback = await idp.signIn(authorizeUrl(idp, { challenge, redirectUri: DEMO_REDIRECT_URI }));
    expect(callback.startsWith(`${DEMO_REDIRECT_URI}?`)).toBe(true);
    const code = new URL(callback).searchParams.get("code") ?? "";
    const tokens = await tokenRequest(
      idp,
      { grant_type: "authorization_code", code, redirect_uri: DEMO_REDIRECT_URI, code_verifier: verifier },
      "client_secret_basic",
    );
    expect(tokens.status).toBe(200);
    const refreshed = await tokenRequest(
      idp,
      { grant_type: "refresh_token", refresh_token: str(tokens.body.refresh_token) },
      "client_secret_basic",
    );
    expect(refreshed.status).toBe(200);
  });

  it("rejects a wrong client secret and an unregistered redirect URI", async () => {
    const tokens = await loggedIn(idp);
    const before = idp.grants("refresh_token");
    const bad = await tokenRequest(
      idp,
      { grant_type: "refresh_token", refresh_token: str(tokens.refresh_token) },
      "client_secret_post",
      { id: CLIENT_ID, secret: "wrong" },
    );
    expect(bad.status).toBe(401);
    expect(bad.body.error).toBe("invalid_client");
    expect(idp.grants("refresh_token")).toEqual({ success: before.success, error: before.error + 1 });

    const { challenge } = pkce();
    await expect(
      idp.signIn(authorizeUrl(idp, { challenge, redirectUri: "http://127.0.0.1:1/elsewhere" })),
    ).rejects.toThrow(/invalid_redirect_uri/);
  });

  it("returns error=access_denied when the user presses Deny", async () => {
    const codeBefore = idp.grants("authorization_code");
    const { challenge } = pkce();
    const callback = await idp.signIn(authorizeUrl(idp, { challenge, state: "deny-state" }), { deny: true });
    const cb = new URL(callback);
    expect(`${cb.origin}${cb.pathname}`).toBe(REDIRECT_URI);
    expect(cb.searchParams.get("error")).toBe("access_denied");
    expect(cb.searchParams.get("state")).toBe("deny-state");
    expect(cb.searchParams.get("code")).toBeNull();
    expect(idp.grants("authorization_code")).toEqual(codeBefore);
  });

  it("rejects wrong credentials", async () => {
    const { challenge } = pkce();
    await expect(idp.signIn(authorizeUrl(idp, { challenge }), { password: "not-the-password" })).rejects.toThrow(
      /refused the credentials/,
    );
    await expect(idp.signIn(authorizeUrl(idp, { challenge }), { login: "nobody@example.com" })).rejects.toThrow(
      /refused the credentials/,
    );
  });

  it("requires PKCE with S256", async () => {
    // No code_challenge at all: the authorization endpoint redirects back with invalid_request.
    const missing = new URL(await idp.signIn(authorizeUrl(idp, { state: "no-pkce" })));
    expect(`${missing.origin}${missing.pathname}`).toBe(REDIRECT_URI);
    expect(missing.searchParams.get("error")).toBe("invalid_request");
    expect(missing.searchParams.get("error_description")).toMatch(/PKCE/);
    expect(missing.searchParams.get("state")).toBe("no-pkce");

    // The "plain" method is not supported.
    const { verifier, challenge } = pkce();
    const plain = new URL(await idp.signIn(authorizeUrl(idp, { challenge: verifier, method: "plain" })));
    expect(plain.searchParams.get("error")).toBe("invalid_request");

    // A code bound to a challenge cannot be redeemed without (or with a wrong) code_verifier.
    const before = idp.grants("authorization_code");
    const noVerifier = await exchangeCode(idp, await idp.signIn(authorizeUrl(idp, { challenge })), undefined);
    expect(noVerifier.status).toBe(400);
    expect(noVerifier.body.error).toBe("invalid_grant");
    const wrongVerifier = await exchangeCode(idp, await idp.signIn(authorizeUrl(idp, { challenge })), pkce().verifier);
    expect(wrongVerifier.status).toBe(400);
    expect(wrongVerifier.body.error).toBe("invalid_grant");
    expect(idp.grants("authorization_code")).toEqual({ success: before.success, error: before.error + 2 });
  });

  it("serves an accessible login page with stable ids and the demo credentials", async () => {
    const { challenge } = pkce();
    const first = await fetch(authorizeUrl(idp, { challenge }), { redirect: "manual" });
    expect(first.status).toBe(303);
    const location = new URL(first.headers.get("location") ?? "", idp.issuer);
    expect(location.pathname).toMatch(/^\/interaction\/[\w-]+$/);
    const cookie = first.headers
      .getSetCookie()
      .map((c) => c.split(";", 1)[0])
      .join("; ");
    const res = await fetch(location, { headers: { cookie } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const html = await res.text();
    expect(html).toContain('<label for="login">Email</label>');
    expect(html).toContain('<label for="password">Password</label>');
    expect(html).toMatch(/<input id="login" name="login"/);
    expect(html).toMatch(/<input id="password" name="password" type="password"/);
    expect(html).toMatch(/<button id="sign-in" type="submit">Sign in<\/button>/);
    expect(html).toContain("demo@example.com / demo");

    // Without the interaction cookie the page is refused.
    const stale = await fetch(location);
    expect(stale.status).toBe(400);
    await stale.text();
  });

  it("did not write to the console (oidc-provider notices go to the logger)", () => {
    for (const spy of consoleSpies) {
      const oidcCalls = spy.mock.calls.filter((args) => args.some((a) => String(a).includes("oidc-provider")));
      expect(oidcCalls).toEqual([]);
    }
    expect(logLines.some((l) => l.includes("demo IdP listening"))).toBe(true);
    // oidc-provider 9 warns at import time on Node < 22; that line is routed to the logger.
    const nodeMajor = Number(process.versions.node.split(".")[0]);
    if (nodeMajor < 22) expect(logLines.some((l) => l.includes("Unsupported runtime"))).toBe(true);
    expect(logLines.some((l) => l.includes("signed in demo-user-1"))).toBe(true);
  });
});

describe("demo IdP options", () => {
  it("fails fast on invalid client metadata", async () => {
    await expect(
      startDemoIdp({ clients: [{ clientId: "bad", clientSecret: "x", redirectUris: ["http://127.0.0.1:1/cb#fragment"] }] }),
    ).rejects.toThrow(/invalid configuration: .*redirect_uris must not contain fragments/);
  });

  it("supports custom users, access-token TTL and issuer host, escapes reflected values, and closes", async () => {
    const redirect = "http://127.0.0.1:45679/oauth_callback";
    const idp = await startDemoIdp({
      issuerHost: "localhost",
      clients: [{ clientId: "other-client", clientSecret: "other-secret", redirectUris: [redirect] }],
      accessTokenTtl: 120,
      users: [{ id: "u-42", name: 'Ada <b>"Lovelace"</b>', email: "ada@example.com", password: "p<w>&d" }],
    });
    try {
      expect(idp.issuer).toBe(`http://localhost:${idp.port}`);
      expect(idp.authorizationEndpoint).toBe(`http://localhost:${idp.port}/auth`);

      // The default user does not exist here; the custom one does (login by email or by id).
      const { verifier, challenge } = pkce();
      const url = authorizeUrl(idp, { challenge, redirectUri: redirect, clientId: "other-client" });
      await expect(idp.signIn(url, { login: "demo@example.com", password: "demo" })).rejects.toThrow(/refused/);
      const callback = await idp.signIn(url, { login: "u-42", password: "p<w>&d" });
      const code = new URL(callback).searchParams.get("code") ?? "";
      const tokens = await tokenRequest(
        idp,
        { grant_type: "authorization_code", code, redirect_uri: redirect, code_verifier: verifier },
        "client_secret_post",
        { id: "other-client", secret: "other-secret" },
      );
      expect(tokens.status).toBe(200);
      expect(tokens.body.expires_in).toBe(120);
      const me = await userinfo(idp, str(tokens.body.access_token));
      expect(me.body).toEqual({
        sub: "u-42",
        name: 'Ada <b>"Lovelace"</b>',
        email: "ada@example.com",
        email_verified: true,
        groups: [],
      });
      expect(idp.grants("authorization_code")).toEqual({ success: 1, error: 0 });
      expect(idp.grants("refresh_token")).toEqual({ success: 0, error: 0 });

      // Reflected values are HTML-escaped on the login page.
      const first = await fetch(url, { redirect: "manual" });
      const cookie = first.headers
        .getSetCookie()
        .map((c) => c.split(";", 1)[0])
        .join("; ");
      const html = await (await fetch(new URL(first.headers.get("location") ?? "", idp.issuer), { headers: { cookie } })).text();
      expect(html).toContain("ada@example.com / p&lt;w&gt;&amp;d");
      expect(html).not.toContain("p<w>&d");
    } finally {
      await idp.close();
    }
    await idp.close(); // idempotent
    await expect(fetch(`http://127.0.0.1:${idp.port}/.well-known/openid-configuration`)).rejects.toThrow();
  });
});
