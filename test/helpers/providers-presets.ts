/**
 * The built-in provider presets pointed at the fake provider, for integration suites.
 *
 * GitHub and Google take endpoint overrides the fake serves as they are. Azure's endpoints are
 * `<authority>/<tenant>/oauth2/v2.0/{authorize,token}` and Auth0's token endpoint is
 * `<domain>/oauth/token`; the fake serves `/authorize` and `/token`, so those two go through a
 * small path-rewriting gateway in front of it (`startGateway`).
 */
import { createServer, request as httpRequest, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import {
  Auth0OAuthProvider,
  AzureOAuthProvider,
  GitHubOAuthProvider,
  GoogleOAuthProvider,
  type OAuthProvider,
} from "../../lib/index.js";
import { standardProvider } from "./apps.js";
import type { FakeProvider } from "./fake-provider.js";

/** Where the presets send the browser back; served by fletAuth at `/oauth_callback`. */
export const REDIRECT_URL = "http://127.0.0.1/oauth_callback";

/** One request the gateway forwarded, with the path it was received on (before rewriting). */
export interface GatewayRequest {
  method: string;
  path: string;
  forwardedTo: string;
}

/** A loopback reverse proxy in front of the fake provider that rewrites request paths. */
export interface Gateway {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly requests: GatewayRequest[];
  close(): Promise<void>;
}

/**
 * Maps the vendor-specific paths of Azure (`/<tenant>/oauth2/v2.0/authorize|token`) and Auth0
 * (`/oauth/token`) onto the fake's `/authorize` and `/token`; every other path is unchanged.
 */
export function vendorPathToFake(pathname: string): string {
  const azure = /^\/[^/]+\/oauth2\/v2\.0\/(authorize|token)$/.exec(pathname);
  if (azure?.[1] !== undefined) return `/${azure[1]}`;
  if (pathname === "/oauth/token") return "/token";
  return pathname;
}

/** Starts a gateway on 127.0.0.1 forwarding to `fake` (no redirect following, bodies streamed). */
export async function startGateway(fake: FakeProvider, rewrite: (pathname: string) => string = vendorPathToFake): Promise<Gateway> {
  const target = new URL(fake.url);
  const requests: GatewayRequest[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const forwardedTo = rewrite(url.pathname);
    requests.push({ method: req.method ?? "", path: url.pathname, forwardedTo });
    const headers: IncomingHttpHeaders = { ...req.headers, host: target.host };
    const upstream = httpRequest(
      { host: target.hostname, port: target.port, method: req.method, path: `${forwardedTo}${url.search}`, headers, agent: false },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", (err) => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
      res.end(`gateway: ${err.message}`);
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err === undefined ? resolve() : reject(err)));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

/** GitHub via the fake's `/login/oauth/*` and `/api/*`. */
export function githubPreset(fake: FakeProvider, options: { scopes?: readonly string[]; redirectUrl?: string } = {}): GitHubOAuthProvider {
  return new GitHubOAuthProvider({
    clientId: fake.clientId,
    clientSecret: fake.clientSecret,
    redirectUrl: options.redirectUrl ?? REDIRECT_URL,
    authorizationEndpoint: `${fake.url}/login/oauth/authorize`,
    tokenEndpoint: `${fake.url}/login/oauth/access_token`,
    apiUrl: `${fake.url}/api`,
    ...(options.scopes ? { scopes: options.scopes } : {}),
  });
}

/** Azure via the gateway (`/<tenant>/oauth2/v2.0/*`), the user from the fake's `/userinfo` (its `id` field). */
export function azurePreset(fake: FakeProvider, gateway: Gateway, tenant = "contoso.onmicrosoft.com"): AzureOAuthProvider {
  return new AzureOAuthProvider({
    clientId: fake.clientId,
    clientSecret: fake.clientSecret,
    redirectUrl: REDIRECT_URL,
    tenant,
    authority: gateway.url,
    userEndpoint: `${fake.url}/userinfo`,
  });
}

/** Auth0 with `domain` = the gateway's URL (`/authorize`, `/oauth/token` → `/token`, `/userinfo`). */
export function auth0Preset(gateway: Gateway, fake: FakeProvider, audience?: string): Auth0OAuthProvider {
  return new Auth0OAuthProvider({
    domain: gateway.url,
    clientId: fake.clientId,
    clientSecret: fake.clientSecret,
    redirectUrl: REDIRECT_URL,
    ...(audience !== undefined ? { audience } : {}),
  });
}

/** Google via the fake's `/authorize`, `/token`, `/userinfo`. */
export function googlePreset(fake: FakeProvider): GoogleOAuthProvider {
  return new GoogleOAuthProvider({
    clientId: fake.clientId,
    clientSecret: fake.clientSecret,
    redirectUrl: REDIRECT_URL,
    authorizationEndpoint: `${fake.url}/authorize`,
    tokenEndpoint: `${fake.url}/token`,
    userEndpoint: `${fake.url}/userinfo`,
  });
}

/** The generic OAuthProvider via the fake's `/authorize`, `/token`, `/userinfo` (see `standardProvider`). */
export function genericPreset(fake: FakeProvider): OAuthProvider {
  return standardProvider(fake, { redirectUrl: REDIRECT_URL });
}
