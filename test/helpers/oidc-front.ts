/**
 * A loopback front for the OpenID provider (test/helpers/oidc-op.ts) that the test steers, for
 * what a real provider never does on request:
 *
 *   POST /token        → the provider's token endpoint; `idToken` (when set) replaces the
 *                        response's `id_token` with one the test builds from the real one
 *   GET  /userinfo     → the provider's userinfo; `userinfo` (when set) rewrites the JSON
 *   GET  /jwks         → the provider's JWKS, counted (jose's fetches)
 *   POST /revoke       → the provider's revocation endpoint, or a 500 (`revocation: "fail"`),
 *                        or no answer at all until close (`"hang"`)
 *   GET  /.well-known/openid-configuration → the provider's document as is (so its `issuer`
 *                        is not this front's URL)
 *   POST /backchannel  → forwarded to `backchannelTarget` (an app's back-channel logout path);
 *                        the logout tokens and the app's answers are recorded
 */
import { once } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface FrontTarget {
  readonly tokenEndpoint: string;
  readonly userinfoEndpoint: string;
  readonly jwksUri: string;
  readonly revocationEndpoint: string;
  readonly discoveryUrl: string;
}

export interface OidcFront {
  readonly url: string;
  /** The provider behind the front (set once it runs: its client registration names this front). */
  target: FrontTarget | undefined;
  readonly tokenEndpoint: string;
  readonly userinfoEndpoint: string;
  readonly jwksUri: string;
  readonly revocationEndpoint: string;
  readonly backchannelUri: string;
  /** Requests seen, by path. */
  readonly hits: Record<string, number>;
  /** Replaces the `id_token` of token responses (given the real one); `undefined` passes them through. */
  idToken: ((original: string) => Promise<string>) | undefined;
  /** Rewrites the userinfo JSON; `undefined` passes it through. */
  userinfo: ((body: Record<string, unknown>) => Record<string, unknown>) | undefined;
  revocation: "forward" | "fail" | "hang";
  /** Where `POST /backchannel` goes. */
  backchannelTarget: string | undefined;
  /** The `logout_token`s forwarded, with the app's status. */
  readonly backchannel: Array<{ readonly logoutToken: string; readonly status: number }>;
  /** The last `id_token` the provider issued through this front (before any replacement). */
  readonly lastIdToken: string | undefined;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function headersOf(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ["authorization", "content-type", "accept"]) {
    const value = req.headers[name];
    if (typeof value === "string") out[name] = value;
  }
  return out;
}

function send(res: ServerResponse, status: number, body: string, type = "application/json"): void {
  res.writeHead(status, { "content-type": type, "cache-control": "no-store", "content-length": String(Buffer.byteLength(body)) });
  res.end(body);
}

export async function startOidcFront(): Promise<OidcFront> {
  const hanging = new Set<ServerResponse>();
  const state: { lastIdToken: string | undefined } = { lastIdToken: undefined };

  const target = (): FrontTarget => {
    if (front.target === undefined) throw new Error("the front has no provider behind it yet");
    return front.target;
  };
  const relay = async (req: IncomingMessage, to: string, body?: Buffer): Promise<{ status: number; text: string; type: string }> => {
    const upstream = await fetch(to, { method: req.method ?? "GET", headers: headersOf(req), body, redirect: "manual" });
    return { status: upstream.status, text: await upstream.text(), type: upstream.headers.get("content-type") ?? "application/json" };
  };

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://front").pathname;
    front.hits[path] = (front.hits[path] ?? 0) + 1;
    const handle = async (): Promise<void> => {
      if (req.method === "POST" && path === "/token") {
        const answer = await relay(req, target().tokenEndpoint, await readBody(req));
        if (answer.status !== 200) return send(res, answer.status, answer.text, answer.type);
        const json = JSON.parse(answer.text) as Record<string, unknown>;
        if (typeof json["id_token"] === "string") {
          state.lastIdToken = json["id_token"];
          if (front.idToken !== undefined) json["id_token"] = await front.idToken(json["id_token"]);
        }
        return send(res, 200, JSON.stringify(json));
      }
      if (req.method === "GET" && path === "/userinfo") {
        const answer = await relay(req, target().userinfoEndpoint);
        if (answer.status !== 200 || front.userinfo === undefined) return send(res, answer.status, answer.text, answer.type);
        return send(res, 200, JSON.stringify(front.userinfo(JSON.parse(answer.text) as Record<string, unknown>)));
      }
      if (req.method === "GET" && path === "/jwks") {
        const answer = await relay(req, target().jwksUri);
        return send(res, answer.status, answer.text, answer.type);
      }
      if (req.method === "GET" && path === "/.well-known/openid-configuration") {
        const answer = await relay(req, target().discoveryUrl);
        return send(res, answer.status, answer.text, answer.type);
      }
      if (req.method === "POST" && path === "/revoke") {
        const body = await readBody(req);
        if (front.revocation === "hang") return void hanging.add(res);
        if (front.revocation === "fail") return send(res, 500, JSON.stringify({ error: "server_error" }));
        const answer = await relay(req, target().revocationEndpoint, body);
        return send(res, answer.status, answer.text, answer.type);
      }
      if (req.method === "POST" && path === "/backchannel") {
        const body = await readBody(req);
        if (front.backchannelTarget === undefined) return send(res, 503, "{}");
        const answer = await relay(req, front.backchannelTarget, body);
        front.backchannel.push({ logoutToken: new URLSearchParams(body.toString("utf8")).get("logout_token") ?? "", status: answer.status });
        return send(res, answer.status, answer.text, answer.type);
      }
      send(res, 404, JSON.stringify({ error: "not_found", path }));
    };
    handle().catch((err: unknown) => {
      if (!res.headersSent) send(res, 502, JSON.stringify({ error: "front", message: String(err) }));
      else res.end();
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let closed: Promise<void> | undefined;
  const front: OidcFront = {
    url,
    target: undefined,
    tokenEndpoint: `${url}/token`,
    userinfoEndpoint: `${url}/userinfo`,
    jwksUri: `${url}/jwks`,
    revocationEndpoint: `${url}/revoke`,
    backchannelUri: `${url}/backchannel`,
    hits: {},
    idToken: undefined,
    userinfo: undefined,
    revocation: "forward",
    backchannelTarget: undefined,
    backchannel: [],
    get lastIdToken() {
      return state.lastIdToken;
    },
    close() {
      closed ??= new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
  return front;
}
