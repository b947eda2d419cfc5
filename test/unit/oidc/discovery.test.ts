/**
 * lib/oidc/discovery.ts in-process: readDiscovery() against a document served on 127.0.0.1
 * (node:http) and through an injected fetch — the well-known URL, the request it makes, the
 * issuer match (§4.3), the required and optional fields, the algorithm filter (never `none`,
 * never HMAC), RFC 9207's flag, the https rule before any request, and every failure as
 * `discovery_failed` with its message. test/e2e/oidc.test.ts covers the same through oidc-provider.
 */
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { FletAuthError, OAuthProvider } from "../../../lib/index.js";
import { readDiscovery } from "../../../lib/oidc/discovery.js";
import { closedPort } from "../../helpers/review-harness.js";

interface Served {
  status: number;
  body: string;
  /** Redirect to this path instead of answering. */
  redirectTo?: string;
  hang?: boolean;
}

let server: Server;
let base: string;
const seen: Array<{ path: string; accept: string | undefined }> = [];
let answer: Served;
const hanging = new Set<ServerResponse>();

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    seen.push({ path: req.url ?? "", accept: req.headers["accept"] });
    if (answer.hang === true) return void hanging.add(res);
    if (answer.redirectTo !== undefined) {
      res.writeHead(302, { location: answer.redirectTo });
      return void res.end();
    }
    res.writeHead(answer.status, { "content-type": "application/json" });
    res.end(answer.body);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const res of hanging) res.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

afterEach(() => {
  vi.restoreAllMocks();
  seen.length = 0;
  for (const res of hanging) res.destroy();
  hanging.clear();
});

/** A complete document for `issuer`, with `more` merged in. */
function documentFor(issuer: string, more: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    issuer,
    authorization_endpoint: `${issuer}/authorize`,
    token_endpoint: `${issuer}/token`,
    jwks_uri: `${issuer}/jwks`,
    ...more,
  };
}

function serve(body: unknown, status = 200): void {
  answer = { status, body: typeof body === "string" ? body : JSON.stringify(body) };
}

/** An injected fetch answering `body` as JSON (status 200), recording its calls. */
function fetchAnswering(body: unknown, status = 200) {
  return vi.fn(async (_url: string | URL | Request, _init?: RequestInit) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } }));
}

async function failure(promise: Promise<unknown>): Promise<FletAuthError> {
  const outcome = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(outcome, "discovery succeeded").toBeInstanceOf(FletAuthError);
  const err = outcome as FletAuthError;
  expect(err.code).toBe("discovery_failed");
  expect(err.status).toBe(502);
  return err;
}

describe("readDiscovery: a good document", () => {
  it("reads <issuer>/.well-known/openid-configuration with the global fetch and takes every field", async () => {
    const issuer = `${base}/tenant`;
    serve(
      documentFor(issuer, {
        userinfo_endpoint: `${issuer}/userinfo`,
        end_session_endpoint: `${issuer}/logout`,
        revocation_endpoint: `${issuer}/revoke`,
        id_token_signing_alg_values_supported: ["RS256", "ES256"],
        authorization_response_iss_parameter_supported: true,
      }),
    );
    const meta = await readDiscovery(issuer);
    expect(meta).toEqual({
      issuer,
      authorizationEndpoint: `${issuer}/authorize`,
      tokenEndpoint: `${issuer}/token`,
      jwksUri: `${issuer}/jwks`,
      userEndpoint: `${issuer}/userinfo`,
      endSessionEndpoint: `${issuer}/logout`,
      revocationEndpoint: `${issuer}/revoke`,
      idTokenSigningAlgorithms: ["RS256", "ES256"],
      sendsIssuer: true,
    });
    expect(seen).toEqual([{ path: "/tenant/.well-known/openid-configuration", accept: "application/json" }]);
  });

  it("a minimal document: only the required fields, no optional keys at all, sendsIssuer false", async () => {
    const issuer = base;
    serve(documentFor(issuer));
    const meta = await readDiscovery(issuer);
    expect(meta).toEqual({ issuer, authorizationEndpoint: `${issuer}/authorize`, tokenEndpoint: `${issuer}/token`, jwksUri: `${issuer}/jwks`, sendsIssuer: false });
    expect(Object.keys(meta)).toEqual(["issuer", "authorizationEndpoint", "tokenEndpoint", "jwksUri", "sendsIssuer"]);
  });

  it("trailing slashes of the issuer are dropped before the well-known path (the issuer itself is kept as given)", async () => {
    const issuer = `${base}/realms/a//`;
    serve(documentFor(issuer));
    const meta = await readDiscovery(issuer);
    expect(meta.issuer).toBe(issuer);
    expect(seen.map((s) => s.path)).toEqual(["/realms/a/.well-known/openid-configuration"]);
  });

  it("asks with accept: application/json, no redirects, and a deadline of timeoutMs (10 s by default)", async () => {
    const issuer = "https://accounts.example.com";
    const timeouts = vi.spyOn(AbortSignal, "timeout");
    const doFetch = fetchAnswering(documentFor(issuer));
    await readDiscovery(issuer, { fetch: doFetch as unknown as typeof fetch });
    expect(doFetch).toHaveBeenCalledTimes(1);
    const [url, init] = doFetch.mock.calls[0] ?? [];
    expect(url).toBe("https://accounts.example.com/.well-known/openid-configuration");
    expect(init).toMatchObject({ headers: { accept: "application/json" }, redirect: "error" });
    expect(init?.signal).toBeInstanceOf(AbortSignal);
    expect(timeouts).toHaveBeenLastCalledWith(10_000);
    await readDiscovery(issuer, { fetch: doFetch as unknown as typeof fetch, timeoutMs: 1234 });
    expect(timeouts).toHaveBeenLastCalledWith(1234);
  });

  it("signing algorithms: none, HMAC and non-strings are dropped; nothing left means no list; not an array means no list", async () => {
    const issuer = "https://accounts.example.com";
    const algs = async (value: unknown): Promise<readonly string[] | undefined> =>
      (await readDiscovery(issuer, { fetch: fetchAnswering(documentFor(issuer, { id_token_signing_alg_values_supported: value })) as unknown as typeof fetch })).idTokenSigningAlgorithms;
    expect(await algs(["none", "HS256", "RS256", 7, "HS512", "PS256", "ES256K"])).toEqual(["RS256", "PS256", "ES256K"]);
    // Only a leading "HS" names HMAC.
    expect(await algs(["XHS256"])).toEqual(["XHS256"]);
    expect(await algs(["none", "HS256"])).toBeUndefined();
    expect(await algs([])).toBeUndefined();
    expect(await algs("RS256")).toBeUndefined();
  });

  it("optional endpoints that are empty or not strings are left out; sendsIssuer only for a literal true", async () => {
    const issuer = "https://accounts.example.com";
    const meta = await readDiscovery(issuer, {
      fetch: fetchAnswering(
        documentFor(issuer, { userinfo_endpoint: "", end_session_endpoint: 5, revocation_endpoint: null, authorization_response_iss_parameter_supported: "true" }),
      ) as unknown as typeof fetch,
    });
    expect(meta).toEqual({ issuer, authorizationEndpoint: `${issuer}/authorize`, tokenEndpoint: `${issuer}/token`, jwksUri: `${issuer}/jwks`, sendsIssuer: false });
  });

  it("OAuthProvider.discover() builds the provider from it (required issuer when the document says it sends iss)", async () => {
    const issuer = "https://accounts.example.com";
    const doc = documentFor(issuer, { authorization_response_iss_parameter_supported: true, end_session_endpoint: `${issuer}/logout`, id_token_signing_alg_values_supported: ["PS256"] });
    const provider = await OAuthProvider.discover(issuer, {
      clientId: "c",
      clientSecret: "s",
      redirectUrl: "http://127.0.0.1/oauth_callback",
      fetch: fetchAnswering(doc) as unknown as typeof fetch,
    });
    expect(provider).toMatchObject({ issuer, requireIssuer: true, jwksUri: `${issuer}/jwks`, endSessionEndpoint: `${issuer}/logout`, idTokenSigningAlgorithms: ["PS256"] });
  });
});

describe("readDiscovery: refusals", () => {
  it("an issuer that is not a non-empty string: TypeError before any request", async () => {
    const doFetch = fetchAnswering({});
    for (const issuer of ["", undefined, 42]) {
      await expect(readDiscovery(issuer as string, { fetch: doFetch as unknown as typeof fetch })).rejects.toThrow(
        new TypeError("OAuthProvider.discover(issuer): issuer must be the provider's issuer URL"),
      );
    }
    expect(doFetch).not.toHaveBeenCalled();
  });

  it("an http: issuer off loopback: TypeError before any request (metadata is never fetched in the clear)", async () => {
    const doFetch = fetchAnswering(documentFor("http://accounts.example.com"));
    await expect(readDiscovery("http://accounts.example.com", { fetch: doFetch as unknown as typeof fetch })).rejects.toThrow(TypeError);
    await expect(readDiscovery("http://accounts.example.com", { fetch: doFetch as unknown as typeof fetch })).rejects.toThrow(/OAuthProvider\.discover\(issuer\) must use https:/);
    expect(doFetch).not.toHaveBeenCalled();
  });

  it("a document naming another issuer (even one differing only by a trailing slash)", async () => {
    const issuer = "https://accounts.example.com";
    for (const named of ["https://evil.example.com", `${issuer}/`, undefined]) {
      const err = await failure(readDiscovery(issuer, { fetch: fetchAnswering({ ...documentFor(issuer), issuer: named }) as unknown as typeof fetch }));
      expect(err.message).toBe('OpenID Connect discovery failed: the document names another issuer than "https://accounts.example.com" (OpenID Connect Discovery §4.3).');
    }
  });

  it.each(["authorization_endpoint", "token_endpoint", "jwks_uri"])("a document without %s, or with it empty or not a string", async (field) => {
    const issuer = "https://accounts.example.com";
    for (const value of [undefined, "", 42]) {
      const doc = { ...documentFor(issuer), [field]: value };
      const err = await failure(readDiscovery(issuer, { fetch: fetchAnswering(doc) as unknown as typeof fetch }));
      expect(err.message).toBe(`OpenID Connect discovery failed: the document has no ${field}.`);
    }
  });

  it("a body that is JSON but not an object: null, an array, a string", async () => {
    for (const body of [null, [documentFor(base)], JSON.stringify("text")]) {
      serve(body);
      const err = await failure(readDiscovery(base));
      expect(err.message).toBe(`OpenID Connect discovery failed: ${base}/.well-known/openid-configuration is not a JSON object.`);
    }
  });

  it("a non-2xx answer: the status in the message, no cause", async () => {
    serve({ error: "nope" }, 404);
    const err = await failure(readDiscovery(base));
    expect(err.message).toBe(`OpenID Connect discovery failed: ${base}/.well-known/openid-configuration answered HTTP 404.`);
    expect(err.cause).toBeUndefined();
    serve(documentFor(base), 500);
    expect((await failure(readDiscovery(base))).message).toMatch(/answered HTTP 500\.$/);
  });

  it("a body that is not JSON: could not read, with the parser's error as cause", async () => {
    serve("<html>hello</html>");
    const err = await failure(readDiscovery(base));
    expect(err.message).toBe(`OpenID Connect discovery failed: could not read ${base}/.well-known/openid-configuration (SyntaxError).`);
    expect(err.cause).toBeInstanceOf(SyntaxError);
  });

  it("a redirect is not followed", async () => {
    answer = { status: 302, body: "", redirectTo: "/elsewhere/.well-known/openid-configuration" };
    const err = await failure(readDiscovery(base));
    expect(err.message).toBe(`OpenID Connect discovery failed: could not read ${base}/.well-known/openid-configuration (TypeError).`);
    expect(seen.map((s) => s.path)).toEqual(["/.well-known/openid-configuration"]);
  });

  it("an unreachable issuer", async () => {
    const issuer = `http://127.0.0.1:${await closedPort()}`;
    const err = await failure(readDiscovery(issuer, { timeoutMs: 5000 }));
    expect(err.message).toBe(`OpenID Connect discovery failed: could not read ${issuer}/.well-known/openid-configuration (TypeError).`);
    expect(err.cause).toBeInstanceOf(TypeError);
  });

  it("no answer within timeoutMs", async () => {
    answer = { status: 200, body: "", hang: true };
    const err = await failure(readDiscovery(base, { timeoutMs: 100 }));
    expect(err.message).toBe(`OpenID Connect discovery failed: could not read ${base}/.well-known/openid-configuration (TimeoutError).`);
  });

  it("a fetch that rejects with a non-Error: named 'error', kept as cause", async () => {
    const doFetch = vi.fn(() => Promise.reject("boom"));
    const err = await failure(readDiscovery("https://accounts.example.com", { fetch: doFetch as unknown as typeof fetch }));
    expect(err.message).toBe("OpenID Connect discovery failed: could not read https://accounts.example.com/.well-known/openid-configuration (error).");
    expect(err.cause).toBe("boom");
  });
});
