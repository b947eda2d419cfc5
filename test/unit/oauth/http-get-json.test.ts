/**
 * getJson of the default OAuthHttp against the fake provider and small raw servers: which
 * statuses pass, how failures are worded (the URL named, its query string never), the response
 * headers handed back, and every timeout path mapping to provider_timeout.
 */
import axios from "axios";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createOAuthHttp, FletAuthError } from "../../../lib/index.js";
import { startFakeProvider, type FakeProvider } from "../../helpers/fake-provider.js";
import { rawServer, rejection } from "../../helpers/oauth-http-tests.js";
import { closedPort } from "../../helpers/review-harness.js";


describe("createOAuthHttp().getJson", () => {
  let fake: FakeProvider;
  const http = createOAuthHttp({ userAgent: "flet-auth-test/1.0" });

  beforeAll(async () => {
    fake = await startFakeProvider();
  });
  afterAll(() => fake.close());

  describe("statuses", () => {
    it("accepts HTTP 299 (any 2xx) and returns its JSON", async () => {
      fake.nextResponse("/userinfo", { status: 299, body: JSON.stringify({ sub: "299" }) });
      const res = await http.getJson(`${fake.url}/userinfo`, "any");
      expect(res.status).toBe(299);
      expect(res.data).toEqual({ sub: "299" });
    });

    it("keeps HTTP 403 as status 403 (callers branch on it)", async () => {
      fake.nextResponse("/userinfo", { status: 403, body: JSON.stringify({ message: "forbidden" }) });
      const err = await rejection(() => http.getJson(`${fake.url}/userinfo`, "any"));
      expect(err.code).toBe("user_fetch_failed");
      expect(err.status).toBe(403);
    });
  });

  describe("messages name the URL without its query string", () => {
    it("a URL without a query string is named in full", async () => {
      fake.nextResponse("/userinfo", { status: 500, body: "{}" });
      const err = await rejection(() => http.getJson(`${fake.url}/userinfo`, "any"));
      expect(err.message).toBe(`${fake.url}/userinfo answered HTTP 500.`);
    });

    it("a URL's query string is replaced by an ellipsis", async () => {
      fake.nextResponse("/userinfo", { status: 500, body: "{}" });
      const err = await rejection(() => http.getJson(`${fake.url}/userinfo?access_token=QUERY-SECRET`, "any"));
      expect(err.message).toBe(`${fake.url}/userinfo?… answered HTTP 500.`);
      expect(err.message).not.toContain("QUERY-SECRET");
    });

    it("an unreachable URL is user_fetch_failed, 'Could not reach' it, with a cause", async () => {
      const url = `http://127.0.0.1:${await closedPort()}/userinfo`;
      const err = await rejection(() => http.getJson(`${url}?access_token=QUERY-SECRET`, "any"));
      expect(err.code).toBe("user_fetch_failed");
      expect(err.message).toBe(`Could not reach ${url}?….`);
      expect(err.cause).toBeInstanceOf(Error);
    });
  });

  describe("non-JSON answers", () => {
    it("names the content type the endpoint answered", async () => {
      fake.nextResponse("/userinfo", { status: 200, contentType: "text/html; charset=utf-8", body: "<html></html>" });
      const err = await rejection(() => http.getJson(`${fake.url}/userinfo`, "any"));
      expect(err.code).toBe("user_fetch_failed");
      expect(err.message).toBe(`${fake.url}/userinfo answered text/html; charset=utf-8, not JSON.`);
      expect(err.cause).toBeUndefined();
    });

    it("quotes at most 100 characters of the content type", async () => {
      const longType = `text/plain; x=${"a".repeat(200)}`;
      fake.nextResponse("/userinfo", { status: 200, contentType: longType, body: "not json" });
      const err = await rejection(() => http.getJson(`${fake.url}/userinfo`, "any"));
      expect(err.message).toBe(`${fake.url}/userinfo answered ${longType.slice(0, 100)}, not JSON.`);
    });

    it("says 'no content type' when there is none", async () => {
      const server = await rawServer((_req, res) => {
        res.writeHead(200, { "content-length": 5 });
        res.end("hello");
      });
      try {
        const err = await rejection(() => http.getJson(`${server.url}/me`, "any"));
        expect(err.message).toBe(`${server.url}/me answered no content type, not JSON.`);
      } finally {
        await server.close();
      }
    });
  });

  it("hands back repeated response headers joined by ', ', names in lower case", async () => {
    const server = await rawServer((_req, res) => {
      res.setHeader("Set-Cookie", ["a=1", "b=2"]);
      res.setHeader("X-Request-Id", "r-1");
      res.writeHead(200, { "content-type": "application/json" });
      res.end('{"ok":true}');
    });
    try {
      const res = await http.getJson(`${server.url}/me`, "any");
      expect(res.headers["set-cookie"]).toBe("a=1, b=2");
      expect(res.headers["x-request-id"]).toBe("r-1");
    } finally {
      await server.close();
    }
  });

  describe("timeouts", () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    it("the overall deadline names the URL (query redacted) and the limit", async () => {
      fake.nextResponse("/userinfo", { delayMs: 5_000 });
      const err = await rejection(() => createOAuthHttp({ timeoutMs: 200 }).getJson(`${fake.url}/userinfo?access_token=QUERY-SECRET`, "any"));
      expect(err.code).toBe("provider_timeout");
      expect(err.message).toBe(`The provider did not answer ${fake.url}/userinfo?… within 200 ms.`);
      expect(err.cause).toBeInstanceOf(Error);
    });

    /**
     * axios's own wall-clock timer (ECONNABORTED, or ETIMEDOUT with clarifyTimeoutError) is a
     * global setTimeout: faking it lets it fire while the overall deadline (a real timer, one
     * minute here) has not, which is the order a busy event loop may produce.
     */
    async function axiosTimeout(): Promise<FletAuthError> {
      const mark = fake.requests.length;
      fake.nextResponse("/userinfo", { delayMs: 5_000 });
      vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
      const http60 = createOAuthHttp({ timeoutMs: 60_000 });
      const pending = rejection(() => http60.getJson(`${fake.url}/userinfo`, "any"));
      await vi.waitFor(() => expect(fake.requests.length).toBe(mark + 1));
      await vi.advanceTimersByTimeAsync(60_000);
      return pending;
    }

    it("axios's own timeout (ECONNABORTED) before the overall deadline is provider_timeout", async () => {
      const err = await axiosTimeout();
      expect(err.code).toBe("provider_timeout");
      expect(String((err.cause as Error).message)).toMatch(/timeout/);
    });

    it("with an app's axios default clarifyTimeoutError (ETIMEDOUT) it is still provider_timeout", async () => {
      const previous = axios.defaults.transitional;
      axios.defaults.transitional = { ...previous, clarifyTimeoutError: true };
      try {
        const err = await axiosTimeout();
        expect(err.code).toBe("provider_timeout");
      } finally {
        axios.defaults.transitional = previous;
      }
    });
  });
});
