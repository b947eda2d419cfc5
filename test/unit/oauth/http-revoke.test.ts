/**
 * RFC 7009 token revocation by the default OAuthHttp, in-process against the fake provider (its
 * `/revoke` answers are canned with `nextResponse`): what is sent, what counts as success, and
 * how failures are reported.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOAuthHttp, FletAuthError, type TokenClient } from "../../../lib/index.js";
import { startFakeProvider, type FakeProvider, type RecordedRequest } from "../../helpers/fake-provider.js";
import { closedPort } from "../../helpers/review-harness.js";

describe("createOAuthHttp().revoke (RFC 7009)", () => {
  let fake: FakeProvider;
  const http = createOAuthHttp({ userAgent: "flet-auth-revoke-test/1.0", timeoutMs: 5_000 });

  beforeAll(async () => {
    fake = await startFakeProvider();
  });
  afterAll(() => fake.close());

  const client = (): TokenClient => ({
    clientId: fake.clientId,
    clientSecret: fake.clientSecret,
    tokenEndpoint: `${fake.url}/token`,
    redirectUrl: "http://127.0.0.1/oauth_callback",
  });

  /** Calls revoke and returns its outcome and the requests the fake received meanwhile. */
  async function revoking(
    endpoint: string,
    token: string,
    hint: "refresh_token" | "access_token",
    httpClient = http,
  ): Promise<{ error: unknown; requests: RecordedRequest[] }> {
    const mark = fake.requests.length;
    let error: unknown;
    try {
      await httpClient.revoke!(client(), endpoint, token, hint);
    } catch (err) {
      error = err;
    }
    return { error, requests: fake.requests.slice(mark) };
  }

  it("POSTs token, token_type_hint and the client credentials as a form, and resolves on HTTP 200", async () => {
    fake.nextResponse("/revoke", { status: 200, body: "" });
    const { error, requests } = await revoking(`${fake.url}/revoke`, "rt-to-revoke", "refresh_token");
    expect(error).toBeUndefined();
    expect(requests).toHaveLength(1);
    const req = requests[0]!;
    expect(req.method).toBe("POST");
    expect(req.path).toBe("/revoke");
    expect(new URLSearchParams(req.body).getAll("token")).toEqual(["rt-to-revoke"]);
    expect(req.form).toEqual({
      token: "rt-to-revoke",
      token_type_hint: "refresh_token",
      client_id: fake.clientId,
      client_secret: fake.clientSecret,
    });
  });

  it("sends the access token with token_type_hint=access_token", async () => {
    fake.nextResponse("/revoke", { status: 200, body: "{}" });
    const { error, requests } = await revoking(`${fake.url}/revoke`, "at-to-revoke", "access_token");
    expect(error).toBeUndefined();
    expect(requests[0]!.form["token"]).toBe("at-to-revoke");
    expect(requests[0]!.form["token_type_hint"]).toBe("access_token");
  });

  it("sends a form content type, Accept: application/json and the configured User-Agent, and no Basic auth", async () => {
    fake.nextResponse("/revoke", { status: 200, body: "" });
    const { requests } = await revoking(`${fake.url}/revoke`, "rt-h", "refresh_token");
    const headers = requests[0]!.headers;
    expect(String(headers["content-type"])).toMatch(/^application\/x-www-form-urlencoded/);
    expect(headers["accept"]).toBe("application/json");
    expect(headers["user-agent"]).toBe("flet-auth-revoke-test/1.0");
    expect(headers["authorization"]).toBeUndefined();
  });

  it.each([400, 404, 503])("rejects HTTP %i with refresh_failed, status 502, and a message naming the endpoint and the status", async (status) => {
    fake.nextResponse("/revoke", { status, body: JSON.stringify({ error: "unsupported_token_type" }) });
    const { error } = await revoking(`${fake.url}/revoke`, "rt-x", "refresh_token");
    expect(error).toBeInstanceOf(FletAuthError);
    const err = error as FletAuthError;
    expect(err.code).toBe("refresh_failed");
    expect(err.status).toBe(502);
    expect(err.message).toContain(`${fake.url}/revoke`);
    expect(err.message).toMatch(new RegExp(`HTTP ${status}\\b.*revocation`));
  });

  it("does not treat another 2xx as success: RFC 7009 §2.2 answers 200", async () => {
    fake.nextResponse("/revoke", { status: 204, body: "" });
    const { error } = await revoking(`${fake.url}/revoke`, "rt-204", "refresh_token");
    expect((error as FletAuthError).code).toBe("refresh_failed");
    expect((error as FletAuthError).message).toMatch(/HTTP 204/);
  });

  it("keeps the endpoint's query string out of the error message", async () => {
    fake.nextResponse("/revoke", { status: 500, body: "" });
    const { error } = await revoking(`${fake.url}/revoke?key=QUERY-SECRET`, "rt-q", "refresh_token");
    const err = error as FletAuthError;
    expect(err.message).toContain(`${fake.url}/revoke?…`);
    expect(err.message).not.toContain("QUERY-SECRET");
  });

  it("an unreachable endpoint rejects with provider_timeout, naming the token kind and the endpoint, with a cause", async () => {
    const endpoint = `http://127.0.0.1:${await closedPort()}/revoke`;
    const { error } = await revoking(`${endpoint}?key=QUERY-SECRET`, "rt-refused", "access_token");
    expect(error).toBeInstanceOf(FletAuthError);
    const err = error as FletAuthError;
    expect(err.code).toBe("provider_timeout");
    expect(err.message).toMatch(/Revoking the access_token at .*failed/);
    expect(err.message).toContain(`${endpoint}?…`);
    expect(err.message).not.toContain("QUERY-SECRET");
    expect(err.cause).toBeInstanceOf(Error);
    expect(String((err.cause as Error).message)).not.toContain("rt-refused");
  });

  it("gives up on a slow revocation endpoint at timeoutMs with provider_timeout", async () => {
    fake.nextResponse("/revoke", { delayMs: 5_000, status: 200, body: "" });
    const started = Date.now();
    const { error } = await revoking(`${fake.url}/revoke`, "rt-slow", "refresh_token", createOAuthHttp({ timeoutMs: 200 }));
    expect((error as FletAuthError).code).toBe("provider_timeout");
    expect(Date.now() - started).toBeLessThan(4_000);
  });
});
