/**
 * A loopback front for the demo IdP (examples/demo/idp.ts) that speaks Auth0's paths, so the
 * `Auth0OAuthProvider` preset (domain = this proxy's URL) can sign in against a real OpenID
 * provider:
 *
 *   GET  /authorize    → 302 to the IdP's authorization endpoint, same query (what Auth0's
 *                        universal login would show, done by the IdP's own pages)
 *   POST /oauth/token  → forwarded to the IdP's token endpoint (body and auth headers as sent)
 *   GET  /userinfo     → forwarded to the IdP's userinfo endpoint (Authorization header as sent)
 *
 * Nothing else is answered (404), so a preset that used another path would fail loudly.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface Auth0Front {
  /** e.g. "http://127.0.0.1:4567": pass it as the Auth0 `domain`. */
  readonly url: string;
  /** Requests seen, by path (e.g. `{ "/oauth/token": 2 }`). */
  readonly hits: Readonly<Record<string, number>>;
  /** Follows the `/authorize` redirect like a browser would and returns the IdP's authorize URL. */
  resolveAuthorize(authorizeUrl: string): Promise<string>;
  close(): Promise<void>;
}

export interface Auth0FrontTarget {
  readonly authorizationEndpoint: string;
  readonly tokenEndpoint: string;
  readonly userinfoEndpoint: string;
}

const FORWARDED_HEADERS = ["authorization", "content-type", "accept", "user-agent"] as const;

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function forward(req: IncomingMessage, res: ServerResponse, target: string, body: Buffer | undefined): Promise<void> {
  const headers: Record<string, string> = {};
  for (const name of FORWARDED_HEADERS) {
    const value = req.headers[name];
    if (typeof value === "string") headers[name] = value;
  }
  const upstream = await fetch(target, { method: req.method ?? "GET", headers, body, redirect: "manual" });
  const out: Record<string, string> = {};
  for (const name of ["content-type", "cache-control", "pragma", "www-authenticate"]) {
    const value = upstream.headers.get(name);
    if (value !== null) out[name] = value;
  }
  const payload = Buffer.from(await upstream.arrayBuffer());
  res.writeHead(upstream.status, { ...out, "content-length": String(payload.length) });
  res.end(payload);
}

export async function startAuth0Front(idp: Auth0FrontTarget): Promise<Auth0Front> {
  const hits: Record<string, number> = {};
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    hits[url.pathname] = (hits[url.pathname] ?? 0) + 1;
    const handle = async (): Promise<void> => {
      if (req.method === "GET" && url.pathname === "/authorize") {
        res.writeHead(302, { location: `${idp.authorizationEndpoint}${url.search}` });
        res.end();
      } else if (req.method === "POST" && url.pathname === "/oauth/token") {
        await forward(req, res, `${idp.tokenEndpoint}${url.search}`, await readBody(req));
      } else if (req.method === "GET" && url.pathname === "/userinfo") {
        await forward(req, res, `${idp.userinfoEndpoint}${url.search}`, undefined);
      } else {
        res.writeHead(404, { "content-type": "text/plain" });
        res.end(`auth0 front: no route for ${req.method ?? "?"} ${url.pathname}`);
      }
    };
    handle().catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
      res.end(`auth0 front: ${err instanceof Error ? err.message : String(err)}`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  let closed: Promise<void> | undefined;
  return {
    url,
    hits,
    async resolveAuthorize(authorizeUrl) {
      const res = await fetch(authorizeUrl, { redirect: "manual" });
      await res.body?.cancel();
      const location = res.headers.get("location");
      if (res.status !== 302 || location === null) throw new Error(`auth0 front: /authorize answered ${res.status} without a redirect`);
      return location;
    },
    close() {
      closed ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
