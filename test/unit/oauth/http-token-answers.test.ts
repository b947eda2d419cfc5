/**
 * How the default OAuthHttp reads token endpoint answers (code exchange and refresh) against the
 * fake provider and small raw servers: odd but valid bodies, bodies that are not token responses,
 * OAuth error bodies (RFC 6749 §5.2) and the HTTP status each failure maps to.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOAuthHttp, type TokenClient } from "../../../lib/index.js";
import { startFakeProvider, type FakeProvider } from "../../helpers/fake-provider.js";
import { rawServer, rejection } from "../../helpers/oauth-http-tests.js";
import { closedPort } from "../../helpers/review-harness.js";
import { startTrickleServer } from "../../helpers/trickle-server.js";


const VERIFIER = "v".repeat(43);

describe("createOAuthHttp: token endpoint answers", () => {
  let fake: FakeProvider;
  const http = createOAuthHttp({ userAgent: "flet-auth-test/1.0" });

  beforeAll(async () => {
    fake = await startFakeProvider();
  });
  afterAll(() => fake.close());

  const client = (overrides: Partial<TokenClient> = {}): TokenClient => ({
    clientId: fake.clientId,
    clientSecret: fake.clientSecret,
    tokenEndpoint: `${fake.url}/token`,
    redirectUrl: "http://127.0.0.1/oauth_callback",
    ...overrides,
  });
  const exchange = (c: TokenClient = client()) => http.exchangeCode(c, { code: "c", codeVerifier: VERIFIER });
  const refresh = (c: TokenClient = client()) => http.refresh(c, "r1");

  describe("bodies that are token responses", () => {
    it("accepts a JSON token answered as text/plain (parsed as JSON, not as a form)", async () => {
      fake.nextResponse("/token", { status: 200, contentType: "text/plain", body: JSON.stringify({ access_token: "at-text", token_type: "Bearer" }) });
      const body = await exchange();
      expect(body["access_token"]).toBe("at-text");
      expect(body["token_type"]).toBe("Bearer");
    });

    it("accepts a form-encoded answer with a trailing newline (token_type stays 'bearer')", async () => {
      fake.nextResponse("/token", { status: 200, contentType: "application/x-www-form-urlencoded", body: "access_token=at-nl&token_type=bearer\n" });
      const body = await exchange();
      expect(body).toEqual({ access_token: "at-nl", token_type: "bearer" });
    });

    it.each([
      { what: "a NUL byte", byte: 0x00 },
      { what: "a 0xFF byte", byte: 0xff },
    ])("accepts a form-encoded answer containing $what elsewhere in the body", async ({ byte }) => {
      const server = await rawServer((_req, res) => {
        const body = Buffer.concat([Buffer.from("x="), Buffer.from([byte]), Buffer.from("&access_token=at-bytes&token_type=bearer")]);
        res.writeHead(200, { "content-type": "text/plain", "content-length": body.length });
        res.end(body);
      });
      try {
        const body = await exchange(client({ tokenEndpoint: `${server.url}/token` }));
        expect(body["access_token"]).toBe("at-bytes");
        expect(body["token_type"]).toBe("bearer");
      } finally {
        await server.close();
      }
    });

    it("a refresh answered form-encoded is parsed as a form, as a code exchange is (the new refresh token kept)", async () => {
      fake.nextResponse("/token", { status: 200, contentType: "application/x-www-form-urlencoded", body: "access_token=at-form&token_type=bearer&refresh_token=r2" });
      const body = await refresh();
      expect(body["access_token"]).toBe("at-form");
      expect(body["token_type"]).toBe("bearer");
      expect(body["refresh_token"]).toBe("r2");
    });

    it("a refresh answered form-encoded without a new refresh token gives the access token", async () => {
      fake.nextResponse("/token", { status: 200, contentType: "text/plain", body: "access_token=at-form2&expires_in=60" });
      const body = await refresh();
      expect(body["access_token"]).toBe("at-form2");
      expect(body["expires_in"]).toBe("60");
    });

    it.each(["bearer", "BEARER", "Bearer"])("accepts token_type %s (case-insensitive)", async (tokenType) => {
      fake.nextResponse("/token", { status: 200, body: JSON.stringify({ access_token: "at-tt", token_type: tokenType }) });
      expect((await exchange())["access_token"]).toBe("at-tt");
    });
  });

  describe("bodies that are not usable token responses", () => {
    it("an empty access_token is no access_token: invalid_token_response", async () => {
      fake.nextResponse("/token", { status: 200, body: JSON.stringify({ access_token: "", token_type: "Bearer" }) });
      const err = await rejection(() => exchange());
      expect(err.code).toBe("invalid_token_response");
      expect(err.message).toMatch(/no access_token/);
    });

    it("a refresh answer without access_token is refresh_failed, saying access_token is missing", async () => {
      fake.nextResponse("/token", { status: 200, body: JSON.stringify({ token_type: "Bearer", expires_in: 60 }) });
      const err = await rejection(() => refresh());
      expect(err.code).toBe("refresh_failed");
      expect(err.message).toMatch(/no access_token/);
    });

    it.each([
      { what: "an empty object", body: "{}" },
      { what: "an object of byte-like values under other names", body: '{"foo":1}' },
      { what: "index keys with a non-number value", body: '{"0":97,"1":"x"}' },
      { what: "an index key with a value above 255", body: '{"0":300}' },
      { what: "an index key with a negative value", body: '{"0":-1}' },
    ])("a JSON object without access_token ($what) is invalid_token_response, not an unrecognised body", async ({ body }) => {
      fake.nextResponse("/token", { status: 200, body });
      const err = await rejection(() => exchange());
      expect(err.code).toBe("invalid_token_response");
      expect(err.message).toMatch(/no access_token/);
    });

    it.each([
      { flow: "code exchange", run: () => exchange(), code: "invalid_token_response" },
      { flow: "refresh", run: () => refresh(), code: "refresh_failed" },
    ])("a non-Bearer token_type is rejected in a $flow ($code), saying token_type is unsupported", async ({ run, code }) => {
      fake.nextResponse("/token", { status: 200, body: JSON.stringify({ access_token: "at-mac", token_type: "mac" }) });
      const err = await rejection(run);
      expect(err.code).toBe(code);
      expect(err.message).toMatch(/Unsupported token_type/);
      expect(err.message).toMatch(/Bearer/);
    });

    it("an HTML 200 page in a refresh is refresh_failed with status 502 (not a sign-in-again 401), saying it was neither JSON nor a form", async () => {
      fake.nextResponse("/token", { status: 200, contentType: "text/html", body: "<html><body>Sign in</body></html>" });
      const err = await rejection(() => refresh());
      expect(err.code).toBe("refresh_failed");
      expect(err.status).toBe(502);
      expect(err.message).toMatch(/not answer a token response.*neither JSON nor a form/);
    });

    it("an HTML 200 page in a code exchange is token_exchange_failed with status 502, saying it was neither JSON nor a form", async () => {
      fake.nextResponse("/token", { status: 200, contentType: "text/html", body: "<html><body>Sign in</body></html>" });
      const err = await rejection(() => exchange());
      expect(err.code).toBe("token_exchange_failed");
      expect(err.status).toBe(502);
      expect(err.message).toMatch(/not answer a token response.*neither JSON nor a form/);
    });
  });

  describe("OAuth error bodies (RFC 6749 §5.2)", () => {
    it("a dead code (invalid_grant) is a 400: the browser's problem", async () => {
      const err = await rejection(() => http.exchangeCode(client(), { code: "unknown-code", codeVerifier: VERIFIER }));
      expect(err.code).toBe("token_exchange_failed");
      expect(err.oauthError).toBe("invalid_grant");
      expect(err.status).toBe(400);
    });

    it("a dead refresh token (invalid_grant) is a 401: sign in again", async () => {
      const err = await rejection(() => http.refresh(client(), "no-such-refresh-token"));
      expect(err.code).toBe("refresh_failed");
      expect(err.oauthError).toBe("invalid_grant");
      expect(err.status).toBe(401);
    });

    it.each([
      { flow: "refresh", run: () => refresh(), status: 400, expected: 401 },
      { flow: "code exchange", run: () => exchange(), status: 400, expected: 502 },
      { flow: "refresh", run: () => refresh(), status: 503, expected: 502 },
    ])("another error at HTTP $status in a $flow maps to status $expected", async ({ run, status, expected }) => {
      fake.nextResponse("/token", { status, body: JSON.stringify({ error: "invalid_client" }) });
      const err = await rejection(run);
      expect(err.oauthError).toBe("invalid_client");
      expect(err.status).toBe(expected);
    });

    it("the message is the error code in parentheses when there is no description", async () => {
      fake.nextResponse("/token", { status: 400, body: JSON.stringify({ error: "invalid_client" }) });
      const err = await rejection(() => exchange());
      expect(err.message).toBe("(invalid_client)");
      expect(err.description).toBeUndefined();
    });

    it("the message carries the error code and the provider's description", async () => {
      fake.nextResponse("/token", { status: 400, body: JSON.stringify({ error: "invalid_client", error_description: "Client authentication failed." }) });
      const err = await rejection(() => exchange());
      expect(err.message).toBe("(invalid_client) Client authentication failed.");
      expect(err.description).toBe("Client authentication failed.");
    });

    it("an empty error value is reported as invalid_request", async () => {
      fake.nextResponse("/token", { status: 200, body: JSON.stringify({ error: "" }) });
      const err = await rejection(() => exchange());
      expect(err.code).toBe("token_exchange_failed");
      expect(err.oauthError).toBe("invalid_request");
    });
  });

  describe("HTTP failures without an OAuth error", () => {
    it.each([
      { flow: "code exchange", run: () => exchange(), code: "token_exchange_failed", what: /^The code exchange failed: / },
      { flow: "refresh", run: () => refresh(), code: "refresh_failed", what: /^Refreshing the token failed: / },
    ])("HTTP 500 in a $flow is $code, status 502, naming the flow and the status, with no oauthError", async ({ run, code, what }) => {
      fake.nextResponse("/token", { status: 500, body: JSON.stringify({ message: "internal" }) });
      const err = await rejection(run);
      expect(err.code).toBe(code);
      expect(err.status).toBe(502);
      expect(err.oauthError).toBeUndefined();
      expect(err.message).toMatch(what);
      expect(err.message).toMatch(/answered HTTP 500/);
    });

    it.each([
      { flow: "code exchange", run: () => exchange(), expected: 502 },
      { flow: "refresh", run: () => refresh(), expected: 401 },
    ])("HTTP 401 without an error body in a $flow maps to status $expected", async ({ run, expected }) => {
      fake.nextResponse("/token", { status: 401, body: "{}" });
      const err = await rejection(run);
      expect(err.status).toBe(expected);
      expect(err.message).toMatch(/answered HTTP 401/);
    });

    it.each([504, 408])("HTTP %i from the token endpoint is provider_timeout, saying the provider did not answer in time", async (status) => {
      fake.nextResponse("/token", { status, contentType: "text/plain", body: "" });
      const err = await rejection(() => exchange());
      expect(err.code).toBe("provider_timeout");
      expect(err.message).toMatch(/^The code exchange failed: the provider did not answer in time/);
      expect(err.cause).toBeInstanceOf(Error);
    });

    it.each([
      { flow: "code exchange", run: () => exchange(), code: "token_exchange_failed", what: /^The code exchange failed/ },
      { flow: "refresh", run: () => refresh(), code: "refresh_failed", what: /^Refreshing the token failed/ },
    ])("a malformed JSON body in a $flow is $code, status 502, 'could not be read', with a cause that quotes nothing", async ({ run, code, what }) => {
      // The JSON parser's message quotes this body; it reads like a connection error but is not one.
      fake.nextResponse("/token", { status: 200, contentType: "application/json", body: "Client request error" });
      const err = await rejection(run);
      expect(err.code).toBe(code);
      expect(err.status).toBe(502);
      expect(err.message).toMatch(what);
      expect(err.message).toMatch(/answer could not be read/);
      expect(err.cause).toBeInstanceOf(Error);
      expect((err.cause as Error).message).toMatch(/response could not be processed/);
      expect((err.cause as Error).message).not.toContain("Client request error");
    });

    it.each([
      { flow: "code exchange", run: () => exchange(), code: "token_exchange_failed", what: "The code exchange failed." },
      { flow: "refresh", run: () => refresh(), code: "refresh_failed", what: "Refreshing the token failed." },
    ])("an empty JSON 200 body in a $flow is $code, status 502, with a cause", async ({ run, code, what }) => {
      fake.nextResponse("/token", { status: 200, contentType: "application/json", body: "" });
      const err = await rejection(run);
      expect(err.code).toBe(code);
      expect(err.status).toBe(502);
      expect(err.message).toBe(what);
      expect(err.cause).toBeInstanceOf(Error);
    });
  });

  describe("invalid client settings", () => {
    it("a client secret simple-oauth2 refuses is a 500 'invalid client configuration' that does not quote the secret", async () => {
      const err = await rejection(() => exchange(client({ clientSecret: "s\u00e9cret-\u00e9" })));
      expect(err.code).toBe("token_exchange_failed");
      expect(err.status).toBe(500);
      expect(err.message).toMatch(/^The code exchange failed: invalid client configuration/);
      expect(err.message).not.toContain("s\u00e9cret");
      expect(err.cause).toBeUndefined();
    });

    it("a token endpoint that is not a URL is token_exchange_failed, status 502, not a configuration refusal", async () => {
      const err = await rejection(() => exchange(client({ tokenEndpoint: "not a url" })));
      expect(err.code).toBe("token_exchange_failed");
      expect(err.status).toBe(502);
      expect(err.message).toBe("The code exchange failed.");
      expect(err.cause).toBeInstanceOf(Error);
    });

    /** A TokenClient whose token endpoint cannot be read: reading it throws `thrown`. */
    const unreadable = (thrown: unknown): TokenClient => ({
      clientId: "c",
      clientSecret: "s",
      redirectUrl: "http://127.0.0.1/cb",
      get tokenEndpoint(): string {
        throw thrown;
      },
    });

    it.each([
      { what: "null", thrown: null },
      { what: "undefined", thrown: undefined },
      { what: "a string", thrown: "nope" },
    ])("a client whose settings throw $what still yields a FletAuthError (token_exchange_failed, 502)", async ({ thrown }) => {
      const err = await rejection(() => exchange(unreadable(thrown)));
      expect(err.code).toBe("token_exchange_failed");
      expect(err.status).toBe(502);
      expect(err.message).toBe("The code exchange failed.");
    });

    it("a Boom-like value that is not an Error yields a FletAuthError whose cause is a named Error without the message", async () => {
      const err = await rejection(() => exchange(unreadable({ isBoom: true, message: "payload: at-secret" })));
      expect(err.code).toBe("token_exchange_failed");
      expect(err.status).toBe(502);
      expect(err.cause).toBeInstanceOf(Error);
      expect((err.cause as Error).name).toBe("Error");
      expect((err.cause as Error).message).not.toContain("at-secret");
    });
  });
});

describe("createOAuthHttp: token requests that get no answer", () => {
  const clientFor = (url: string): TokenClient => ({ clientId: "c", clientSecret: "s", tokenEndpoint: `${url}/token`, redirectUrl: "http://127.0.0.1/cb" });

  it.each([
    { flow: "code exchange", what: "The code exchange failed", run: (c: TokenClient) => createOAuthHttp({ timeoutMs: 300 }).exchangeCode(c, { code: "c", codeVerifier: VERIFIER }) },
    { flow: "refresh", what: "Refreshing the token failed", run: (c: TokenClient) => createOAuthHttp({ timeoutMs: 300, refreshTimeoutMs: 300 }).refresh(c, "r1") },
  ])("a $flow whose answer trickles in past the deadline is provider_timeout, naming the limit", async ({ what, run }) => {
    // Headers at once, then a byte every 100 ms: only the overall deadline ends the wait.
    const server = await startTrickleServer(JSON.stringify({ access_token: "at-slow", token_type: "Bearer", padding: "x".repeat(100) }), 100);
    try {
      const err = await rejection(() => run(clientFor(server.url)));
      expect(err.code).toBe("provider_timeout");
      expect(err.message).toBe(`${what}: the provider did not answer within 300 ms.`);
      expect(server.finished()).toBe(false);
    } finally {
      await server.close();
    }
  });

  it("a refused connection in a refresh is refresh_failed with status 502 (not a sign-in-again 401), with a cause", async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const err = await rejection(() => createOAuthHttp({ timeoutMs: 2_000 }).refresh(clientFor(url), "rt-1"));
    expect(err.code).toBe("refresh_failed");
    expect(err.status).toBe(502);
    expect(err.message).toMatch(/^Refreshing the token failed: Client request error.*ECONNREFUSED/);
    expect(err.cause).toBeInstanceOf(Error);
  });

  it("a connection lost after the request was sent says so, with a cause", async () => {
    // Reads the whole request (the provider may have acted on it), then drops the connection.
    let received = 0;
    const server = createServer((req) => {
      req.resume();
      req.on("end", () => {
        received += 1;
        req.socket.destroy();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const err = await rejection(() => createOAuthHttp({ timeoutMs: 2_000 }).exchangeCode(clientFor(url), { code: "c", codeVerifier: VERIFIER }));
      expect(received).toBe(1);
      expect(err.code).toBe("provider_timeout");
      expect(err.message).toBe("The code exchange failed: the connection was lost before the provider answered.");
      expect(err.cause).toBeInstanceOf(Error);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
