/**
 * The default OAuthHttp (simple-oauth2 + axios) against the fake provider over loopback: the
 * token and refresh bodies Flet sends (shared/vectors/oauth-requests.json), the headers, and every
 * way a provider can answer badly.
 */
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOAuthHttp, FletAuthError, OAuthToken, type TokenClient } from "../../lib/index.js";
import { startFakeProvider, type FakeProvider, type RecordedRequest } from "../helpers/fake-provider.js";
import { vectorPath } from "../helpers/vectors.js";
import { closedPort } from "../helpers/review-harness.js";

interface TokenRequestCase {
  name: string;
  client_id: string;
  client_secret: string;
  code: string;
  redirect_url: string;
  code_verifier: string | null;
  expected_body: string;
}

interface RefreshRequestCase {
  name: string;
  client_id: string;
  client_secret: string;
  refresh_token: string;
  redirect_url: string;
  expected_body: string;
}

const vectors = JSON.parse(
  readFileSync(vectorPath("oauth-requests.json"), "utf8"),
) as { token_request_cases: TokenRequestCase[]; refresh_request_cases: RefreshRequestCase[] };

const tokenVectors = JSON.parse(
  readFileSync(vectorPath("oauth-token.json"), "utf8"),
) as { cases: Array<{ name: string; token_endpoint_response?: { content_type: string; body: string }; fields: Record<string, unknown> }> };

/** A form body as a sorted multiset of [name, value] pairs (order-insensitive, duplicates kept). */
function pairs(body: string): Array<[string, string]> {
  return [...new URLSearchParams(body)].sort(([ak, av], [bk, bv]) => (ak === bk ? (av < bv ? -1 : av > bv ? 1 : 0) : ak < bk ? -1 : 1));
}

const OK_TOKEN = JSON.stringify({ access_token: "at-1", token_type: "Bearer", expires_in: 3600 });

/** Runs `fn` and returns what it rejected with (fails the test when it resolves). */
async function rejection(fn: () => Promise<unknown>): Promise<FletAuthError> {
  let caught: unknown;
  try {
    await fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, "expected a rejection").toBeInstanceOf(FletAuthError);
  return caught as FletAuthError;
}

describe("createOAuthHttp", () => {
  let fake: FakeProvider;
  const http = createOAuthHttp({ userAgent: "flet-auth-test/1.0" });

  beforeAll(async () => {
    fake = await startFakeProvider();
  });
  afterAll(() => fake.close());

  /** The requests the fake received while `fn` ran. */
  async function recorded<T>(fn: () => Promise<T>): Promise<{ result: T | undefined; error: unknown; requests: RecordedRequest[] }> {
    const mark = fake.requests.length;
    let result: T | undefined;
    let error: unknown;
    try {
      result = await fn();
    } catch (err) {
      error = err;
    }
    return { result, error, requests: fake.requests.slice(mark) };
  }

  const client = (overrides: Partial<TokenClient> = {}): TokenClient => ({
    clientId: fake.clientId,
    clientSecret: fake.clientSecret,
    tokenEndpoint: `${fake.url}/token`,
    redirectUrl: "http://127.0.0.1/oauth_callback",
    ...overrides,
  });

  describe("code exchange body (token_request_cases)", () => {
    it.each(vectors.token_request_cases)("$name", async (c) => {
      fake.nextResponse("/token", { status: 200, body: OK_TOKEN });
      // flet-auth always uses PKCE: a case without a verifier gets one, which is the only addition.
      const verifier = c.code_verifier ?? randomBytes(32).toString("base64url");
      const { error, requests } = await recorded(() =>
        http.exchangeCode(
          { clientId: c.client_id, clientSecret: c.client_secret, tokenEndpoint: `${fake.url}/token`, redirectUrl: c.redirect_url },
          { code: c.code, codeVerifier: verifier },
        ),
      );
      expect(error).toBeUndefined();
      expect(requests).toHaveLength(1);
      const req = requests[0]!;
      expect(req.method).toBe("POST");
      expect(req.path).toBe("/token");
      const expected = pairs(c.expected_body);
      const ours = pairs(req.body);
      if (c.code_verifier !== null) {
        expect(ours).toEqual(expected);
      } else {
        expect(ours.filter(([k]) => k !== "code_verifier")).toEqual(expected);
        expect(ours.filter(([k]) => k === "code_verifier")).toEqual([["code_verifier", verifier]]);
      }
      // The fake's own parse of our body agrees.
      expect(req.form).toEqual(Object.fromEntries(c.code_verifier === null ? [...expected, ["code_verifier", verifier]] : expected));
    });
  });

  describe("refresh body (refresh_request_cases)", () => {
    it.each(vectors.refresh_request_cases)("$name", async (c) => {
      fake.nextResponse("/token", { status: 200, body: OK_TOKEN });
      const { error, requests } = await recorded(() =>
        http.refresh({ clientId: c.client_id, clientSecret: c.client_secret, tokenEndpoint: `${fake.url}/token`, redirectUrl: c.redirect_url }, c.refresh_token),
      );
      expect(error).toBeUndefined();
      expect(requests).toHaveLength(1);
      expect(requests[0]!.method).toBe("POST");
      expect(pairs(requests[0]!.body)).toEqual(pairs(c.expected_body));
      expect(requests[0]!.form).toEqual(Object.fromEntries(new URLSearchParams(c.expected_body)));
    });
  });

  describe("headers", () => {
    it("token requests send Accept: application/json, the User-Agent, a form content type and no Basic auth", async () => {
      fake.nextResponse("/token", { status: 200, body: OK_TOKEN });
      const { requests } = await recorded(() => http.exchangeCode(client(), { code: "c", codeVerifier: "v".repeat(43) }));
      const headers = requests[0]!.headers;
      expect(headers["accept"]).toBe("application/json");
      expect(headers["user-agent"]).toBe("flet-auth-test/1.0");
      expect(String(headers["content-type"])).toMatch(/^application\/x-www-form-urlencoded/);
      expect(headers["authorization"]).toBeUndefined();
    });

    it("refresh requests send the same headers", async () => {
      fake.nextResponse("/token", { status: 200, body: OK_TOKEN });
      const { requests } = await recorded(() => http.refresh(client(), "r1"));
      expect(requests[0]!.headers["accept"]).toBe("application/json");
      expect(requests[0]!.headers["user-agent"]).toBe("flet-auth-test/1.0");
    });

    it("a default client sends a non-empty User-Agent", async () => {
      fake.nextResponse("/token", { status: 200, body: OK_TOKEN });
      const { requests } = await recorded(() => createOAuthHttp().exchangeCode(client(), { code: "c", codeVerifier: "v".repeat(43) }));
      expect(String(requests[0]!.headers["user-agent"] ?? "")).not.toBe("");
    });
  });

  describe("code exchange answers", () => {
    it("a real exchange with the fake provider returns the token body (PKCE verified by the provider)", async () => {
      const verifier = randomBytes(32).toString("base64url");
      const challenge = createHash("sha256").update(verifier).digest("base64url");
      const redirect = "http://127.0.0.1/oauth_callback";
      const authorize = `${fake.url}/authorize?${new URLSearchParams({
        response_type: "code", client_id: fake.clientId, redirect_uri: redirect, scope: "openid", state: "st", code_challenge: challenge, code_challenge_method: "S256",
      })}`;
      const code = new URL(await fake.authorize(authorize)).searchParams.get("code")!;
      const body = await http.exchangeCode(client({ redirectUrl: redirect }), { code, codeVerifier: verifier });
      expect(typeof body["access_token"]).toBe("string");
      expect(typeof body["refresh_token"]).toBe("string");
      expect(body["expires_in"]).toBe(3600);
      // simple-oauth2's own expires_at (a Date) is not passed on.
      expect(body["expires_at"]).toBeUndefined();
    });

    it("rejects GitHub's HTTP-200 error body: token_exchange_failed with oauthError bad_verification_code", async () => {
      const err = await rejection(() =>
        http.exchangeCode(client({ tokenEndpoint: `${fake.url}/login/oauth/access_token` }), { code: "not-a-code", codeVerifier: "v".repeat(43) }),
      );
      expect(err.code).toBe("token_exchange_failed");
      expect(err.oauthError).toBe("bad_verification_code");
      expect(err.description).toBe("The code passed is incorrect or expired.");
    });

    it("parses a form-encoded answer (GitHub without Accept: application/json)", async () => {
      const github = tokenVectors.cases.find((c) => c.name === "github_oauth_app_no_expiry")!;
      const response = github.token_endpoint_response!;
      fake.nextResponse("/token", { status: 200, contentType: response.content_type, body: response.body });
      const body = await http.exchangeCode(client(), { code: "c", codeVerifier: "v".repeat(43) });
      expect(body).toEqual(Object.fromEntries(new URLSearchParams(response.body)));
      const token = OAuthToken.fromResponse(body, Date.now());
      expect(token.accessToken).toBe(github.fields["access_token"]);
      expect(token.scope).toEqual(["read:user,user:email"]);
      expect(token.tokenType).toBe("bearer");
    });

    it.each([
      { what: "an HTML 200 page", status: 200, contentType: "text/html; charset=utf-8", body: "<!doctype html><html><body>Sign in</body></html>" },
      { what: "an HTML 502 page", status: 502, contentType: "text/html", body: "<html><body><h1>502 Bad Gateway</h1></body></html>" },
      { what: "a 500 with a JSON body", status: 500, contentType: "application/json", body: '{"message":"internal"}' },
      { what: "a 503 with an empty body", status: 503, contentType: "text/plain", body: "" },
    ])("rejects $what with token_exchange_failed", async ({ status, contentType, body }) => {
      fake.nextResponse("/token", { status, contentType, body });
      const err = await rejection(() => http.exchangeCode(client(), { code: "c", codeVerifier: "v".repeat(43) }));
      expect(err.code).toBe("token_exchange_failed");
      expect(err.message).not.toContain(fake.clientSecret);
    });

    it("rejects a standard 400 error body with token_exchange_failed and the provider's error", async () => {
      const err = await rejection(() => http.exchangeCode(client(), { code: "unknown-code", codeVerifier: "v".repeat(43) }));
      expect(err.code).toBe("token_exchange_failed");
      expect(err.oauthError).toBe("invalid_grant");
    });

    it("rejects a 200 answer without access_token with invalid_token_response", async () => {
      fake.nextResponse("/token", { status: 200, body: JSON.stringify({ token_type: "Bearer", expires_in: 3600 }) });
      const err = await rejection(() => http.exchangeCode(client(), { code: "c", codeVerifier: "v".repeat(43) }));
      expect(err.code).toBe("invalid_token_response");
    });

    it("does not follow a redirect from the token endpoint", async () => {
      fake.nextResponse("/token", { status: 302, contentType: "text/plain", body: "", headers: { location: `${fake.url}/elsewhere/token` } });
      const { error, requests } = await recorded(() => http.exchangeCode(client(), { code: "c", codeVerifier: "v".repeat(43) }));
      expect(error).toBeInstanceOf(FletAuthError);
      expect(requests.map((r) => r.path)).toEqual(["/token"]);
      expect(fake.requests.some((r) => r.path === "/elsewhere/token")).toBe(false);
    });

    it("gives up on a slow token endpoint with provider_timeout", async () => {
      fake.nextResponse("/token", { delayMs: 5_000 });
      const err = await rejection(() => createOAuthHttp({ timeoutMs: 200 }).exchangeCode(client(), { code: "c", codeVerifier: "v".repeat(43) }));
      expect(err.code).toBe("provider_timeout");
    });
  });

  describe("refresh answers", () => {
    it("returns the raw body: no refresh token of its own when the response has none", async () => {
      const answer = { access_token: "at-2", token_type: "Bearer", expires_in: 3600, scope: "openid" };
      fake.nextResponse("/token", { status: 200, body: JSON.stringify(answer) });
      const body = await http.refresh(client(), "r1");
      expect(body).toEqual(answer);
      expect(body["refresh_token"]).toBeUndefined();
      expect(body["expires_at"]).toBeUndefined();
    });

    it("returns the new refresh token when the response carries one", async () => {
      fake.nextResponse("/token", { status: 200, body: JSON.stringify({ access_token: "at-3", token_type: "Bearer", refresh_token: "r2" }) });
      const body = await http.refresh(client(), "r1");
      expect(body["refresh_token"]).toBe("r2");
    });

    it("rejects a dead refresh token with refresh_failed and oauthError invalid_grant", async () => {
      const err = await rejection(() => http.refresh(client(), "no-such-refresh-token"));
      expect(err.code).toBe("refresh_failed");
      expect(err.oauthError).toBe("invalid_grant");
    });

    it("gives up on a slow token endpoint at refreshTimeoutMs (the hard limit), with provider_timeout", async () => {
      fake.nextResponse("/token", { delayMs: 5_000 });
      const started = Date.now();
      const err = await rejection(() => createOAuthHttp({ timeoutMs: 200, refreshTimeoutMs: 400 }).refresh(client(), "r1"));
      expect(err.code).toBe("provider_timeout");
      expect(Date.now() - started).toBeLessThan(4_000);
    });

    it("does not cut a refresh short at timeoutMs: the hard limit defaults to 60 s", async () => {
      fake.nextResponse("/token", { delayMs: 600 });
      const err = await rejection(() => createOAuthHttp({ timeoutMs: 200 }).refresh(client(), "no-such-refresh-token"));
      // The provider's answer (after 600 ms, 3× timeoutMs) arrived: its invalid_grant, not a timeout.
      expect(err.code).toBe("refresh_failed");
      expect(err.oauthError).toBe("invalid_grant");
    });

    it("gives up on a slow code exchange at timeoutMs, with provider_timeout", async () => {
      fake.nextResponse("/token", { delayMs: 5_000 });
      const err = await rejection(() => createOAuthHttp({ timeoutMs: 200 }).exchangeCode(client(), { code: "c", codeVerifier: "v".repeat(43) }));
      expect(err.code).toBe("provider_timeout");
    });
  });

  describe("getJson", () => {
    async function issuedAccessToken(): Promise<string> {
      const verifier = randomBytes(32).toString("base64url");
      const challenge = createHash("sha256").update(verifier).digest("base64url");
      const redirect = "http://127.0.0.1/oauth_callback";
      const authorize = `${fake.url}/authorize?${new URLSearchParams({
        response_type: "code", client_id: fake.clientId, redirect_uri: redirect, state: "st", code_challenge: challenge, code_challenge_method: "S256",
      })}`;
      const code = new URL(await fake.authorize(authorize)).searchParams.get("code")!;
      const body = await http.exchangeCode(client({ redirectUrl: redirect }), { code, codeVerifier: verifier });
      return body["access_token"] as string;
    }

    it("GETs JSON with the bearer token, Accept: application/json and the User-Agent", async () => {
      const accessToken = await issuedAccessToken();
      const { result, requests } = await recorded(() => http.getJson(`${fake.url}/userinfo`, accessToken));
      expect(result?.status).toBe(200);
      expect(result?.data).toMatchObject({ sub: "1001", login: "octocat" });
      expect(String(result?.headers["content-type"])).toMatch(/^application\/json/);
      const headers = requests[0]!.headers;
      expect(headers["authorization"]).toBe(`Bearer ${accessToken}`);
      expect(headers["accept"]).toBe("application/json");
      expect(headers["user-agent"]).toBe("flet-auth-test/1.0");
    });

    it.each([
      { status: 401, expectedStatus: 401 },
      { status: 404, expectedStatus: 404 },
      { status: 500, expectedStatus: 502 },
    ])("rejects HTTP $status with user_fetch_failed, status $expectedStatus", async ({ status, expectedStatus }) => {
      fake.nextResponse("/userinfo", { status, body: JSON.stringify({ error: "nope" }) });
      const err = await rejection(() => http.getJson(`${fake.url}/userinfo`, "any"));
      expect(err.code).toBe("user_fetch_failed");
      expect(err.status).toBe(expectedStatus);
      expect(err.message).toContain(String(status));
    });

    it("rejects an HTML answer with user_fetch_failed", async () => {
      fake.nextResponse("/userinfo", { status: 200, contentType: "text/html", body: "<html><body>Login</body></html>" });
      const err = await rejection(() => http.getJson(`${fake.url}/userinfo`, "any"));
      expect(err.code).toBe("user_fetch_failed");
    });

    it("does not follow redirects", async () => {
      fake.nextResponse("/userinfo", { status: 302, contentType: "text/plain", body: "", headers: { location: `${fake.url}/moved/userinfo` } });
      const err = await rejection(() => http.getJson(`${fake.url}/userinfo`, "any"));
      expect(err.code).toBe("user_fetch_failed");
      expect(fake.requests.some((r) => r.path === "/moved/userinfo")).toBe(false);
    });

    it("gives up on a slow endpoint with provider_timeout", async () => {
      fake.nextResponse("/userinfo", { delayMs: 5_000 });
      const err = await rejection(() => createOAuthHttp({ timeoutMs: 200 }).getJson(`${fake.url}/userinfo`, "any"));
      expect(err.code).toBe("provider_timeout");
    });
  });
});

describe("createOAuthHttp: a refresh whose connection is lost has an unknown outcome", () => {
  /** A token endpoint that reads the whole request (it may have rotated the token), then drops the connection. */
  async function droppingServer(): Promise<{ url: string; received: () => number; close: () => Promise<void> }> {
    const { createServer } = await import("node:http");
    let received = 0;
    const server = createServer((req) => {
      req.resume();
      req.on("end", () => {
        received += 1;
        req.socket.destroy();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address() as { port: number };
    return { url: `http://127.0.0.1:${address.port}`, received: () => received, close: () => new Promise((r) => server.close(() => r())) };
  }

  const clientFor = (url: string): TokenClient => ({ clientId: "c", clientSecret: "s", tokenEndpoint: `${url}/token`, redirectUrl: "http://127.0.0.1/cb" });

  it("a reset after the request was sent is provider_timeout (outcome unknown), not a definite refresh_failed", async () => {
    const server = await droppingServer();
    try {
      const err = await createOAuthHttp({ timeoutMs: 2_000 }).refresh(clientFor(server.url), "rt-1").catch((e: unknown) => e);
      expect(server.received()).toBe(1);
      expect(err).toBeInstanceOf(FletAuthError);
      expect((err as FletAuthError).code).toBe("provider_timeout");
    } finally {
      await server.close();
    }
  });

  it("a refused connection (nothing sent) is a definite refresh_failed", async () => {
    // Not a released listen(0) port: a parallel suite's server may take that one and answer.
    const url = `http://127.0.0.1:${await closedPort()}`;
    const err = await createOAuthHttp({ timeoutMs: 2_000 }).refresh(clientFor(url), "rt-1").catch((e: unknown) => e);
    expect((err as FletAuthError).code).toBe("refresh_failed");
    expect((err as FletAuthError).message).toMatch(/ECONNREFUSED/);
  });
});
