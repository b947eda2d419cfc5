import { createHash, randomBytes } from "node:crypto";
import { afterEach, describe, expect, it, vi } from "vitest";
import { GITHUB_OAUTH_APP, startFakeProvider, type FakeProvider, type FakeProviderOptions } from "../helpers/fake-provider.js";

const REDIRECT_URI = "http://app.test/oauth_callback";

let provider: FakeProvider | undefined;

afterEach(async () => {
  vi.useRealTimers();
  await provider?.close();
  provider = undefined;
});

async function start(options?: FakeProviderOptions): Promise<FakeProvider> {
  provider = await startFakeProvider(options);
  return provider;
}

function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
}

/** What the middleware would redirect the browser to. */
function authorizeUrl(p: FakeProvider, params: Record<string, string> = {}, path = "/authorize"): string {
  const query = new URLSearchParams({ response_type: "code", client_id: p.clientId, redirect_uri: REDIRECT_URI, state: "st4te", ...params });
  return `${p.url}${path}?${query.toString()}`;
}

function postForm(p: FakeProvider, path: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${p.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(form).toString(),
  });
}

/** Runs consent + code exchange on the standard endpoints and returns the token response JSON. */
async function signIn(p: FakeProvider, scope = "openid profile"): Promise<Record<string, unknown>> {
  const { verifier, challenge } = pkcePair();
  const callback = new URL(await p.authorize(authorizeUrl(p, { scope, code_challenge: challenge, code_challenge_method: "S256" })));
  const res = await postForm(p, "/token", {
    grant_type: "authorization_code",
    client_id: p.clientId,
    client_secret: p.clientSecret,
    code: callback.searchParams.get("code") ?? "",
    redirect_uri: REDIRECT_URI,
    code_verifier: verifier,
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

const refresh = (p: FakeProvider, refreshToken: unknown): Promise<Response> =>
  postForm(p, "/token", {
    grant_type: "refresh_token",
    client_id: p.clientId,
    client_secret: p.clientSecret,
    refresh_token: String(refreshToken),
  });

describe("authorization code + PKCE (RFC 7636 §4.6)", () => {
  it("redirects with code and state, keeping redirect_uri's own query", async () => {
    const p = await start();
    const { challenge } = pkcePair();
    const callback = await p.authorize(
      authorizeUrl(p, { redirect_uri: "http://app.test/cb?tab=a%20b", code_challenge: challenge, code_challenge_method: "S256" }),
    );
    expect(callback).toMatch(/^http:\/\/app\.test\/cb\?tab=a%20b&code=[\w-]+&state=st4te$/);
  });

  it("accepts the right verifier and issues Bearer tokens with extra members", async () => {
    const p = await start();
    const token = await signIn(p);
    expect(token).toMatchObject({ token_type: "Bearer", expires_in: 3600, scope: "openid profile" });
    expect(token.access_token).toEqual(expect.any(String));
    expect(token.refresh_token).toEqual(expect.any(String));
    expect(String(token.id_token).split(".")).toHaveLength(3);
  });

  it("rejects a wrong verifier with invalid_grant", async () => {
    const p = await start();
    const { challenge } = pkcePair();
    const callback = await p.authorize(authorizeUrl(p, { code_challenge: challenge, code_challenge_method: "S256" }));
    const code = new URL(callback).searchParams.get("code");
    const res = await postForm(p, "/token", {
      grant_type: "authorization_code",
      code: code ?? "",
      redirect_uri: REDIRECT_URI,
      code_verifier: pkcePair().verifier,
      client_id: p.clientId,
      client_secret: p.clientSecret,
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: "invalid_grant", error_description: "code_verifier does not match code_challenge" });
  });

  it("refuses an authorize request without S256 PKCE", async () => {
    const p = await start();
    await expect(p.authorize(authorizeUrl(p))).rejects.toThrow(/code_challenge is required/);
    const plain = authorizeUrl(p, { code_challenge: pkcePair().verifier, code_challenge_method: "plain" });
    await expect(p.authorize(plain)).rejects.toThrow(/S256/);
  });

  it("makes codes single use and revokes the tokens of a replayed code", async () => {
    const p = await start({ requirePkce: false });
    const code = new URL(await p.authorize(authorizeUrl(p))).searchParams.get("code") ?? "";
    // HTTP Basic client authentication this time.
    const basic = { authorization: `Basic ${Buffer.from(`${p.clientId}:${p.clientSecret}`).toString("base64")}` };
    const exchange = (): Promise<Response> =>
      postForm(p, "/token", { grant_type: "authorization_code", code, redirect_uri: REDIRECT_URI }, basic);
    const first = (await (await exchange()).json()) as { access_token: string };
    const second = await exchange();
    expect(second.status).toBe(400);
    expect(await second.json()).toMatchObject({ error: "invalid_grant" });
    const userinfo = await fetch(`${p.url}/userinfo`, { headers: { authorization: `Bearer ${first.access_token}` } });
    expect(userinfo.status).toBe(401);
  });

  it("answers 401 invalid_client for a wrong secret and 400 for a mismatched redirect_uri", async () => {
    const p = await start({ requirePkce: false });
    const code = new URL(await p.authorize(authorizeUrl(p))).searchParams.get("code") ?? "";
    const exchange = { grant_type: "authorization_code", redirect_uri: REDIRECT_URI, client_id: p.clientId };
    const wrongSecret = await postForm(p, "/token", { ...exchange, code, client_secret: "nope" });
    expect(wrongSecret.status).toBe(401);
    expect(wrongSecret.headers.get("www-authenticate")).toMatch(/^Basic/);
    expect(await wrongSecret.json()).toMatchObject({ error: "invalid_client" });

    const code2 = new URL(await p.authorize(authorizeUrl(p))).searchParams.get("code") ?? "";
    const res = await postForm(p, "/token", { ...exchange, code: code2, client_secret: p.clientSecret, redirect_uri: `${REDIRECT_URI}x` });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: "invalid_grant", error_description: expect.stringMatching(/redirect_uri/) });
  });

  it("redirects a denial with error=access_denied and the state", async () => {
    const p = await start();
    const { challenge } = pkcePair();
    const url = authorizeUrl(p, { code_challenge: challenge, code_challenge_method: "S256" });
    const callback = new URL(await p.authorize(url, { deny: true }));
    expect(callback.searchParams.get("error")).toBe("access_denied");
    expect(callback.searchParams.get("state")).toBe("st4te");
    expect(callback.searchParams.has("code")).toBe(false);
  });
});

describe("refresh tokens", () => {
  it("rotation invalidates the old refresh token", async () => {
    const p = await start();
    const { refresh_token: first } = await signIn(p);
    const res = await refresh(p, first);
    expect(res.status).toBe(200);
    const rotated = (await res.json()) as Record<string, unknown>;
    expect(rotated.refresh_token).toEqual(expect.any(String));
    expect(rotated.refresh_token).not.toBe(first);
    expect(rotated.scope).toBe("openid profile");

    const reuse = await refresh(p, first);
    expect(reuse.status).toBe(400);
    expect(await reuse.json()).toMatchObject({ error: "invalid_grant" });
    expect((await refresh(p, rotated.refresh_token)).status).toBe(200);
  });

  it("refreshOmitsRefreshToken keeps the old refresh token valid", async () => {
    const p = await start({ refreshOmitsRefreshToken: true });
    const { refresh_token: original } = await signIn(p);
    for (let i = 0; i < 2; i++) {
      const res = await refresh(p, original);
      expect(res.status).toBe(200);
      expect(await res.json()).not.toHaveProperty("refresh_token");
    }
  });

  it("revokeAll('refresh') makes refresh fail; accessTokenTtl 0 omits expires_in", async () => {
    const p = await start({ accessTokenTtl: 0, issueRefreshTokens: true });
    const token = await signIn(p);
    expect(token).not.toHaveProperty("expires_in");
    p.revokeAll("refresh");
    expect((await refresh(p, token.refresh_token)).status).toBe(400);
  });
});

describe("/userinfo", () => {
  it("returns the user for a live token and 401 once revoked or expired", async () => {
    const p = await start();
    const get = (token: unknown): Promise<Response> =>
      fetch(`${p.url}/userinfo`, { headers: { authorization: `Bearer ${String(token)}` } });
    const { access_token: token } = await signIn(p);
    const res = await get(token);
    expect(await res.json()).toEqual({
      sub: "1001",
      id: 1001,
      login: "octocat",
      name: "The Octocat",
      email: null,
      node_id: expect.any(String),
      type: "User",
      site_admin: false,
    });

    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 3601_000);
    expect((await get(token)).status).toBe(401);
    vi.useRealTimers();

    const { access_token: fresh } = await signIn(p);
    expect((await get(fresh)).status).toBe(200);
    p.revokeAll();
    expect((await get(fresh)).status).toBe(401);
    expect((await fetch(`${p.url}/userinfo`)).status).toBe(401);
  });
});

describe("GitHub-like endpoints", () => {
  async function githubCode(p: FakeProvider): Promise<string> {
    const { challenge } = pkcePair();
    const callback = await p.authorize(
      authorizeUrl(p, { scope: "read:user user:email", code_challenge: challenge, code_challenge_method: "S256" }, "/login/oauth/authorize"),
    );
    return new URL(callback).searchParams.get("code") ?? "";
  }

  async function githubToken(p: FakeProvider, accept?: string): Promise<Response> {
    const { verifier, challenge } = pkcePair();
    const callback = await p.authorize(
      authorizeUrl(p, { scope: "read:user user:email", code_challenge: challenge, code_challenge_method: "S256" }, "/login/oauth/authorize"),
    );
    const code = new URL(callback).searchParams.get("code") ?? "";
    const form = {
      grant_type: "authorization_code",
      client_id: p.clientId,
      client_secret: p.clientSecret,
      code,
      redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
    };
    return postForm(p, "/login/oauth/access_token", form, accept === undefined ? {} : { accept });
  }

  it("answers form-encoded without Accept: application/json", async () => {
    const p = await start(GITHUB_OAUTH_APP);
    const res = await githubToken(p);
    expect(res.headers.get("content-type")).toMatch(/^application\/x-www-form-urlencoded/);
    const text = await res.text();
    expect(text).toMatch(/^access_token=[\w-]+&scope=read%3Auser%2Cuser%3Aemail&token_type=bearer$/);
  });

  it("answers JSON with Accept: application/json, and GitHub App style expiry when asked", async () => {
    const p = await start({ accessTokenTtl: 28800 });
    const res = await githubToken(p, "application/json");
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({
      access_token: expect.any(String),
      expires_in: 28800,
      refresh_token: expect.any(String),
      refresh_token_expires_in: 15897600,
      scope: "read:user,user:email",
      token_type: "bearer",
    });
  });

  it("sends errors with HTTP 200 and an error member", async () => {
    const p = await start(GITHUB_OAUTH_APP);
    const code = await githubCode(p);
    const form = { client_id: p.clientId, client_secret: p.clientSecret, code: `${code}x` };
    const asForm = await postForm(p, "/login/oauth/access_token", form);
    expect(asForm.status).toBe(200);
    expect(Object.fromEntries(new URLSearchParams(await asForm.text()))).toMatchObject({
      error: "bad_verification_code",
      error_description: "The code passed is incorrect or expired.",
    });
    const asJson = await postForm(p, "/login/oauth/access_token", form, { accept: "application/json" });
    expect(asJson.status).toBe(200);
    expect(await asJson.json()).toMatchObject({ error: "bad_verification_code", error_uri: expect.stringMatching(/^https:/) });
  });

  it("requires a User-Agent and a token on the API, and serves user and emails", async () => {
    const p = await start(GITHUB_OAUTH_APP);
    const token = new URLSearchParams(await (await githubToken(p)).text()).get("access_token") ?? "";
    const noAgent = await fetch(`${p.url}/api/user`, { headers: { authorization: `Bearer ${token}`, "user-agent": "" } });
    expect(noAgent.status).toBe(403);
    expect((await fetch(`${p.url}/api/user`, { headers: { "user-agent": "t" } })).status).toBe(401);
    const headers = { authorization: `token ${token}`, "user-agent": "flet-auth-test" };
    const user = await fetch(`${p.url}/api/user`, { headers });
    expect(await user.json()).toMatchObject({ id: 1001, login: "octocat", email: null });
    const emails = (await (await fetch(`${p.url}/api/user/emails`, { headers })).json()) as { email: string; primary: boolean }[];
    expect(emails.find((e) => e.primary)?.email).toBe("octocat@example.com");
    expect(emails[0]?.primary).toBe(false);
  });

  it("paginates /user/teams with GitHub's Link header", async () => {
    const p = await start({ ...GITHUB_OAUTH_APP, teams: 5 });
    const token = new URLSearchParams(await (await githubToken(p)).text()).get("access_token") ?? "";
    const page = (n: number): Promise<Response> =>
      fetch(`${p.url}/api/user/teams?per_page=2&page=${n}`, { headers: { authorization: `Bearer ${token}`, "user-agent": "t" } });
    const teamsUrl = (n: number): string => `${p.url}/api/user/teams?per_page=2&page=${n}`;

    const first = await page(1);
    expect(first.headers.get("link")).toBe(`<${teamsUrl(2)}>; rel="next", <${teamsUrl(3)}>; rel="last"`);
    const teams = (await first.json()) as Array<{ name: string; organization: { login: string } }>;
    expect(teams.map((t) => [t.name, t.organization.login])).toEqual([
      ["Developers", "acme"],
      ["Developers", "globex"],
    ]);
    const middle = await page(2);
    expect(middle.headers.get("link")).toBe(
      `<${teamsUrl(1)}>; rel="prev", <${teamsUrl(3)}>; rel="next", <${teamsUrl(3)}>; rel="last", <${teamsUrl(1)}>; rel="first"`,
    );
    const last = await page(3);
    expect(last.headers.get("link")).toBe(`<${teamsUrl(2)}>; rel="prev", <${teamsUrl(1)}>; rel="first"`);
    expect(await last.json()).toHaveLength(1);
  });
});

describe("recording and overrides", () => {
  it("count() counts requests per path and grant type", async () => {
    const p = await start();
    const { refresh_token: rt } = await signIn(p);
    await refresh(p, rt);
    expect(p.count("/authorize")).toBe(1);
    expect(p.count("/token")).toBe(2);
    expect(p.count("/token", "authorization_code")).toBe(1);
    expect(p.count("/token", "refresh_token")).toBe(1);
    const recorded = p.requests.find((r) => r.form.grant_type === "refresh_token");
    expect(recorded).toMatchObject({ method: "POST", path: "/token", form: { refresh_token: rt } });
    expect(recorded?.body).toContain("grant_type=refresh_token");
  });

  it("nextResponse() replaces exactly one response", async () => {
    const p = await start();
    const body = '{"error":"bad_verification_code","error_description":"The code passed is incorrect or expired."}';
    p.nextResponse("/token", { status: 200, contentType: "application/json", body, headers: { "x-canned": "1" } });
    const canned = await postForm(p, "/token", { grant_type: "refresh_token" });
    expect(canned.status).toBe(200);
    expect(canned.headers.get("x-canned")).toBe("1");
    expect(await canned.text()).toBe(body);
    expect((await postForm(p, "/token", { grant_type: "refresh_token" })).status).toBe(401);
    expect(p.count("/token")).toBe(2);
  });

  it("answers malformed requests with 400 JSON instead of crashing", async () => {
    const p = await start();
    const json = await fetch(`${p.url}/token`, { method: "POST", headers: { "content-type": "application/json" }, body: "{" });
    expect(json.status).toBe(400);
    expect(await json.json()).toMatchObject({ error: "invalid_request" });
    const duplicated = await fetch(`${p.url}/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "grant_type=refresh_token&grant_type=authorization_code",
    });
    expect(duplicated.status).toBe(400);
    expect((await fetch(`${p.url}/authorize?client_id=%E0%A4%A`)).status).toBe(400);
    expect((await fetch(`${p.url}/token`)).status).toBe(405);
    expect((await fetch(`${p.url}/nowhere`)).status).toBe(404);
  });
});
