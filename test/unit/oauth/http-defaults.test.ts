/**
 * What a client made by createOAuthHttp sends and accepts by default and as configured, each
 * client built inside its test: the response size cap (1 MiB by default, `maxResponseBytes`
 * otherwise) on token answers and on JSON fetches, `Accept: application/json` on token requests,
 * a code exchange the provider never answers being dropped at `timeoutMs` (not kept open for the
 * longer refresh limit), and which JSON token bodies count as simple-oauth2's spread of raw bytes.
 */
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { TokenClient } from "../../../lib/oauth/http.js";
import { deferred } from "../../helpers/deferred.js";
import { rawServer } from "../../helpers/oauth-http-tests.js";
type Module = typeof import("../../../lib/oauth/http.js");
type Errors = typeof import("../../../lib/errors.js");
let createOAuthHttp: Module["createOAuthHttp"];
let FletAuthError: Errors["FletAuthError"];

// Imported afresh inside each test, so that mutation testing credits these tests with the module
// (docs/testing.md, Scores); errors.js from the same fresh module graph, for `instanceof`.
beforeEach(async () => {
  vi.resetModules();
  ({ createOAuthHttp } = await import("../../../lib/oauth/http.js"));
  ({ FletAuthError } = await import("../../../lib/errors.js"));
});

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

/** A loopback server answering every request with `status`, `contentType` and `body`; the request headers it saw. */
async function answering(status: number, contentType: string, body: string): Promise<{ url: string; headers: IncomingHttpHeaders[] }> {
  const headers: IncomingHttpHeaders[] = [];
  const server = await rawServer((req, res) => {
    headers.push(req.headers);
    res.writeHead(status, { "content-type": contentType, "content-length": Buffer.byteLength(body) });
    res.end(body);
  });
  closers.push(server.close);
  return { url: server.url, headers };
}

const tokenClient = (url: string): TokenClient => ({
  clientId: "client-id",
  clientSecret: "client-secret",
  tokenEndpoint: `${url}/token`,
  redirectUrl: "http://127.0.0.1/oauth_callback",
});

const exchange = (http: ReturnType<Module["createOAuthHttp"]>, url: string) =>
  http.exchangeCode(tokenClient(url), { code: "c", codeVerifier: "v".repeat(43) });

/** What `promise` rejected with; fails the test when it resolves or rejects with something else. */
async function rejectionOf(promise: Promise<unknown>): Promise<InstanceType<Errors["FletAuthError"]>> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  expect(caught, "expected a FletAuthError rejection").toBeInstanceOf(FletAuthError);
  return caught as InstanceType<Errors["FletAuthError"]>;
}

/** A JSON object of exactly `size` bytes. */
function jsonOfSize(size: number): string {
  const shell = JSON.stringify({ pad: "" });
  return JSON.stringify({ pad: "x".repeat(size - shell.length) });
}

describe("createOAuthHttp: response size cap", () => {
  it("maxResponseBytes caps a token answer: a larger one is refused (token_exchange_failed)", async () => {
    const token = JSON.stringify({ access_token: "a".repeat(2_000), token_type: "Bearer" });
    const server = await answering(200, "application/json", token);
    // Under the cap, the same answer is a token.
    await expect(exchange(createOAuthHttp({ maxResponseBytes: 4_000 }), server.url)).resolves.toMatchObject({ token_type: "Bearer" });
    const err = await rejectionOf(exchange(createOAuthHttp({ maxResponseBytes: 1_000 }), server.url));
    expect(err.code).toBe("token_exchange_failed");
  });

  it("maxResponseBytes caps a JSON fetch: a larger answer is refused (user_fetch_failed)", async () => {
    const server = await answering(200, "application/json", jsonOfSize(2_000));
    await expect(createOAuthHttp({ maxResponseBytes: 2_000 }).getJson(`${server.url}/user`, "at")).resolves.toMatchObject({ status: 200 });
    const err = await rejectionOf(createOAuthHttp({ maxResponseBytes: 1_999 }).getJson(`${server.url}/user`, "at"));
    expect(err.code).toBe("user_fetch_failed");
  });

  it("by default a JSON fetch of 1 MiB is accepted and one byte more is refused", async () => {
    const exact = await answering(200, "application/json", jsonOfSize(1_048_576));
    const over = await answering(200, "application/json", jsonOfSize(1_048_577));
    const http = createOAuthHttp();
    await expect(http.getJson(`${exact.url}/user`, "at")).resolves.toMatchObject({ status: 200 });
    const err = await rejectionOf(http.getJson(`${over.url}/user`, "at"));
    expect(err.code).toBe("user_fetch_failed");
  });
});

describe("createOAuthHttp: token requests", () => {
  it("a code exchange and a refresh from a freshly made client send Accept: application/json", async () => {
    const server = await answering(200, "application/json", JSON.stringify({ access_token: "at", token_type: "Bearer" }));
    const http = createOAuthHttp();
    await exchange(http, server.url);
    await http.refresh(tokenClient(server.url), "r1");
    expect(server.headers.map((h) => h["accept"])).toEqual(["application/json", "application/json"]);
  });

  it("a code exchange the provider never answers is dropped at timeoutMs: its connection is closed then, not held for the refresh limit", async () => {
    const received = deferred<void>();
    const closed = deferred<void>();
    const server = createServer((req) => {
      // Never answers; reports when the client goes away.
      req.resume();
      req.socket.on("close", () => closed.resolve());
      received.resolve();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    closers.push(
      () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    );
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const err = await rejectionOf(exchange(createOAuthHttp({ timeoutMs: 100, refreshTimeoutMs: 600_000 }), url));
    expect(err.code).toBe("provider_timeout");
    await received.promise;
    // The client closed the connection itself (the server never answers and is closed only after the test).
    await closed.promise;
  });

  it("a JSON token answer with a \"0\" key among others is read as JSON (no access_token), not as bytes spread by index", async () => {
    // Only keys "0", "1", … in order are simple-oauth2's spread of a non-JSON body's bytes; here
    // "0" and "1" are followed by another key, so the body is a JSON object without access_token.
    const server = await answering(200, "application/json", JSON.stringify({ "0": 97, "1": 61, status: 98 }));
    const err = await rejectionOf(exchange(createOAuthHttp(), server.url));
    expect(err.code).toBe("invalid_token_response");
    expect(err.message).toBe("The token response has no access_token.");
  });
});
