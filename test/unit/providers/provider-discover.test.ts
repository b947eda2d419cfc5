/**
 * `OAuthProvider.discover(issuer, options)` (lib/providers/provider.ts) against a discovery
 * document served on 127.0.0.1: the options must be an object, the discovery deadline is passed
 * on, the document's userinfo, end-session and revocation endpoints and signing algorithms are
 * adopted unless the options set their own (which always win, document or not), the default
 * `userId` reads `sub` while a configured one wins, and option errors name
 * "OAuthProvider.discover options". readDiscovery itself is covered in test/unit/oidc/discovery.test.ts.
 */
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { OAuthProvider, OAuthToken, createOAuthHttp, type DiscoverOptions, type ProviderContext } from "../../../lib/index.js";

let server: Server;
let issuer: string;
/** JSON answered per path; other paths answer 404. */
const routes = new Map<string, unknown>();
const seen: string[] = [];

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = req.url ?? "";
    seen.push(path);
    if (!routes.has(path)) {
      res.writeHead(404, { "content-type": "application/json" });
      return void res.end("{}");
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(routes.get(path)));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

afterEach(() => {
  vi.restoreAllMocks();
  routes.clear();
  seen.length = 0;
});

const WELL_KNOWN = "/.well-known/openid-configuration";
const REDIRECT_URL = "http://127.0.0.1/oauth_callback";

/** Serves a discovery document for `issuer` with the required fields and `more`. */
function serveDocument(more: Record<string, unknown> = {}): void {
  routes.set(WELL_KNOWN, {
    issuer,
    authorization_endpoint: `${issuer}/authorize`,
    token_endpoint: `${issuer}/token`,
    jwks_uri: `${issuer}/jwks`,
    ...more,
  });
}

const discover = (more: Partial<DiscoverOptions> = {}): Promise<OAuthProvider> =>
  OAuthProvider.discover(issuer, { clientId: "c", clientSecret: "s", redirectUrl: REDIRECT_URL, ...more });

/** A provider context over flet-auth's own HTTP client, as a sign-in builds it. */
function context(accessToken = "at-discover"): ProviderContext {
  const http = createOAuthHttp();
  return { accessToken, token: new OAuthToken({ accessToken }), getJson: (url, options) => http.getJson(url, accessToken, options?.headers) };
}

describe("OAuthProvider.discover: options", () => {
  it.each([null, undefined])("options %j: rejects with a TypeError asking for the options object, before any request", async (options) => {
    serveDocument();
    const outcome = await OAuthProvider.discover(issuer, options as unknown as DiscoverOptions).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(outcome).toBeInstanceOf(TypeError);
    expect((outcome as TypeError).message).toBe(
      "OAuthProvider.discover(issuer, options): options must be an object with clientId, clientSecret and redirectUrl",
    );
    expect(seen).toEqual([]);
  });

  it("an invalid option is reported under \"OAuthProvider.discover options\"", async () => {
    serveDocument();
    await expect(discover({ clientId: "" })).rejects.toThrow(/^OAuthProvider\.discover options\.clientId must be a non-empty string/);
    await expect(discover({ scopes: "openid" as unknown as string[] })).rejects.toThrow(/^OAuthProvider\.discover options\.scopes must be an array/);
  });

  it("discoveryTimeoutMs is the deadline of the discovery request", async () => {
    serveDocument();
    const timeouts = vi.spyOn(AbortSignal, "timeout");
    await discover({ discoveryTimeoutMs: 1234 });
    expect(timeouts).toHaveBeenCalledWith(1234);
    expect(timeouts).not.toHaveBeenCalledWith(10_000);
  });
});

describe("OAuthProvider.discover: what the document supplies", () => {
  it("adopts the document's userinfo, end-session and revocation endpoints and signing algorithms", async () => {
    serveDocument({
      userinfo_endpoint: `${issuer}/userinfo`,
      end_session_endpoint: `${issuer}/logout`,
      revocation_endpoint: `${issuer}/revoke`,
      id_token_signing_alg_values_supported: ["ES256", "RS256"],
    });
    const p = await discover();
    expect(p.userEndpoint).toBe(`${issuer}/userinfo`);
    expect(p.endSessionEndpoint).toBe(`${issuer}/logout`);
    expect(p.revocationEndpoint).toBe(`${issuer}/revoke`);
    expect(p.idTokenSigningAlgorithms).toEqual(["ES256", "RS256"]);
    expect(seen).toEqual([WELL_KNOWN]);
  });

  it("a document without them: none set, RS256 by default", async () => {
    serveDocument();
    const p = await discover();
    expect(p.userEndpoint).toBeUndefined();
    expect(p.endSessionEndpoint).toBeUndefined();
    expect(p.revocationEndpoint).toBeUndefined();
    expect(p.idTokenSigningAlgorithms).toEqual(["RS256"]);
  });

  const OWN = {
    userEndpoint: "http://127.0.0.1:1/own-userinfo",
    endSessionEndpoint: "http://127.0.0.1:1/own-logout",
    revocationEndpoint: "http://127.0.0.1:1/own-revoke",
    idTokenSigningAlgorithms: ["PS384"],
  } as const;

  it("endpoints and algorithms set in the options win over the document's", async () => {
    serveDocument({
      userinfo_endpoint: `${issuer}/userinfo`,
      end_session_endpoint: `${issuer}/logout`,
      revocation_endpoint: `${issuer}/revoke`,
      id_token_signing_alg_values_supported: ["ES256"],
    });
    const p = await discover(OWN);
    expect(p.userEndpoint).toBe(OWN.userEndpoint);
    expect(p.endSessionEndpoint).toBe(OWN.endSessionEndpoint);
    expect(p.revocationEndpoint).toBe(OWN.revocationEndpoint);
    expect(p.idTokenSigningAlgorithms).toEqual(["PS384"]);
  });

  it("endpoints and algorithms set in the options are kept when the document has none", async () => {
    serveDocument();
    const p = await discover(OWN);
    expect(p.userEndpoint).toBe(OWN.userEndpoint);
    expect(p.endSessionEndpoint).toBe(OWN.endSessionEndpoint);
    expect(p.revocationEndpoint).toBe(OWN.revocationEndpoint);
    expect(p.idTokenSigningAlgorithms).toEqual(["PS384"]);
  });
});

describe("OAuthProvider.discover: the user's id", () => {
  it("by default the id is the profile's sub claim", async () => {
    serveDocument({ userinfo_endpoint: `${issuer}/userinfo` });
    routes.set("/userinfo", { sub: "sub-4711", login: "octocat" });
    const p = await discover();
    const user = await p.fetchUser(context());
    expect(user).toMatchObject({ id: "sub-4711", sub: "sub-4711", login: "octocat", groups: [] });
  });

  it("a configured userId wins over the sub default", async () => {
    serveDocument({ userinfo_endpoint: `${issuer}/userinfo` });
    routes.set("/userinfo", { sub: "sub-4711", login: "octocat" });
    const p = await discover({ userId: (u) => String(u["login"]) });
    const user = await p.fetchUser(context());
    expect(user?.id).toBe("octocat");
  });
});
