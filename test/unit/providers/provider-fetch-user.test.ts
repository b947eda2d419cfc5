/**
 * `OAuthProvider#fetchUser` with a plain profile endpoint (lib/providers/provider.ts), served on
 * 127.0.0.1 and fetched with flet-auth's own HTTP client: the answer must be a JSON object, and
 * `userId()` must give a non-empty string or a number (converted to a string); anything else is
 * `user_fetch_failed` with a message saying what was wrong.
 */
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { FletAuthError, OAuthProvider, OAuthToken, createOAuthHttp, type OAuthProviderOptions, type ProviderContext } from "../../../lib/index.js";

let server: Server;
let base: string;
/** The JSON text /userinfo answers. */
let profileBody = "{}";
const authorizations: Array<string | undefined> = [];

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    authorizations.push(req.headers["authorization"]);
    res.writeHead(req.url === "/userinfo" ? 200 : 404, { "content-type": "application/json" });
    res.end(req.url === "/userinfo" ? profileBody : "{}");
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

afterEach(() => {
  profileBody = "{}";
  authorizations.length = 0;
});

function provider(userId: OAuthProviderOptions["userId"]): OAuthProvider {
  return new OAuthProvider({
    clientId: "c",
    clientSecret: "s",
    authorizationEndpoint: `${base}/authorize`,
    tokenEndpoint: `${base}/token`,
    redirectUrl: "http://127.0.0.1/oauth_callback",
    userEndpoint: `${base}/userinfo`,
    userId,
  });
}

/** A provider context over flet-auth's own HTTP client, as a sign-in builds it. */
function context(accessToken = "at-profile"): ProviderContext {
  const http = createOAuthHttp();
  return { accessToken, token: new OAuthToken({ accessToken }), getJson: (url, options) => http.getJson(url, accessToken, options?.headers) };
}

/** The FletAuthError `promise` rejects with (fails on success or on any other error). */
async function fetchFailure(promise: Promise<unknown>): Promise<FletAuthError> {
  const outcome = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(outcome, "expected a FletAuthError").toBeInstanceOf(FletAuthError);
  return outcome as FletAuthError;
}

const bySub = (u: Readonly<Record<string, unknown>>): string => String(u["sub"]);

describe("the profile answer", () => {
  it("a JSON object becomes the user, its id from userId(), fetched with the access token", async () => {
    profileBody = JSON.stringify({ sub: "u-1", name: "Mona" });
    const user = await provider(bySub).fetchUser(context());
    expect(user).toEqual({ sub: "u-1", name: "Mona", id: "u-1", groups: [] });
    expect(authorizations).toEqual(["Bearer at-profile"]);
  });

  it.each([
    ["null", "null"],
    ["a string", JSON.stringify("u-1")],
    ["a number", "42"],
    ["an empty array", "[]"],
    ["an array of profiles", JSON.stringify([{ sub: "u-1" }])],
  ])("JSON that is not an object (%s): user_fetch_failed saying the endpoint did not answer a JSON object", async (_what, body) => {
    profileBody = body;
    const err = await fetchFailure(provider(bySub).fetchUser(context()));
    expect(err.code).toBe("user_fetch_failed");
    expect(err.message).toMatch(/user endpoint did not answer a JSON object/);
  });
});

describe("the id userId() returns", () => {
  it.each([
    [42, "42"],
    [0, "0"],
    ["u-9", "u-9"],
  ])("%j is accepted and becomes the string id %j", async (id, expected) => {
    profileBody = JSON.stringify({ sub: "ignored" });
    const user = await provider(() => id).fetchUser(context());
    expect(user?.id).toBe(expected);
  });

  it.each([
    ["undefined", undefined],
    ["null", null],
    ["an empty string", ""],
    ["an object", { id: 1 }],
    ["a boolean", true],
  ])("%s is refused: user_fetch_failed saying userId() returned no id", async (_what, id) => {
    profileBody = JSON.stringify({ sub: "u-1" });
    const err = await fetchFailure(provider(() => id as unknown as string).fetchUser(context()));
    expect(err.code).toBe("user_fetch_failed");
    expect(err.message).toMatch(/userId\(\) returned no id/);
  });
});
