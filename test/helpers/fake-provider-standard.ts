/**
 * The standard half of the fake provider: `GET /authorize` (also serving GitHub's
 * `/login/oauth/authorize`), `POST /token` (RFC 6749 §5) and `GET /userinfo` (RFC 6750).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { isPkceString, randomToken, splitScope, type FakeUser, type ProviderState, type Settings } from "./fake-provider-core.js";
import { tokenGrant, type TokenSuccess } from "./fake-provider-grants.js";
import { NO_STORE, parseParams, send, sendJson } from "./fake-provider-http.js";

/**
 * `GET /authorize`. Validation failures answer 400 JSON instead of redirecting with an error,
 * so that a broken authorize URL fails the test loudly. `deny=1` (added by
 * `FakeProvider.authorize(url, { deny: true })`) redirects with `error=access_denied`.
 */
export function handleAuthorize(state: ProviderState, res: ServerResponse, url: URL): void {
  const github = url.pathname.startsWith("/login/");
  const { values: q, duplicate } = parseParams(url.searchParams);
  const problem: [string, string] | undefined =
    duplicate !== undefined ? ["invalid_request", `parameter ${duplicate} was sent more than once`] : authorizeProblem(state.settings, q);
  if (problem !== undefined) {
    sendJson(res, 400, { error: problem[0], error_description: problem[1] });
    return;
  }
  const redirectUri = q.redirect_uri ?? "";
  let params: URLSearchParams;
  if (q.deny === "1") {
    params = new URLSearchParams(
      github
        ? {
            error: "access_denied",
            error_description: "The user has denied your application access.",
            error_uri: "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-authorization-request-errors/#access-denied",
          }
        : { error: "access_denied", error_description: "The resource owner denied the request." },
    );
  } else {
    const challenge = q.code_challenge;
    const code = state.issueCode({
      clientId: q.client_id ?? "",
      redirectUri,
      // GitHub also accepts comma-separated scopes.
      scope: splitScope(q.scope, github ? /[\s,]+/ : /\s+/),
      challenge: challenge === undefined ? undefined : { value: challenge, method: q.code_challenge_method === "S256" ? "S256" : "plain" },
      nonce: q.nonce,
    });
    params = new URLSearchParams({ code });
  }
  params.set("state", q.state ?? "");
  // Appended by hand so that redirect_uri's own query survives byte for byte.
  const separator = !redirectUri.includes("?") ? "?" : /[?&]$/.test(redirectUri) ? "" : "&";
  send(res, 302, "text/plain; charset=utf-8", "", { location: `${redirectUri}${separator}${params.toString()}` });
}

function authorizeProblem(settings: Settings, q: Record<string, string>): [string, string] | undefined {
  if (q.client_id !== settings.clientId) return ["invalid_request", `unknown client_id ${JSON.stringify(q.client_id ?? null)}`];
  if (q.redirect_uri === undefined) return ["invalid_request", "redirect_uri is missing"];
  if (!URL.canParse(q.redirect_uri)) return ["invalid_request", "redirect_uri is not an absolute URL"];
  // RFC 6749 §3.1.2: the redirection endpoint URI MUST NOT include a fragment.
  if (q.redirect_uri.includes("#")) return ["invalid_request", "redirect_uri must not contain a fragment"];
  if (q.response_type === undefined) return ["invalid_request", "response_type is missing"];
  if (q.response_type !== "code") return ["unsupported_response_type", `response_type ${q.response_type} is not supported`];
  if (q.state === undefined || q.state === "") return ["invalid_request", "state is missing"];
  const challenge = q.code_challenge;
  if (challenge === undefined) {
    if (settings.requirePkce) return ["invalid_request", "code_challenge is required (PKCE)"];
    return q.code_challenge_method === undefined ? undefined : ["invalid_request", "code_challenge_method without code_challenge"];
  }
  // RFC 7636 §4.3: the method defaults to "plain" when absent.
  const method = q.code_challenge_method ?? "plain";
  if (method !== "S256" && method !== "plain") return ["invalid_request", `transform algorithm ${method} not supported`];
  if (settings.requirePkce && method !== "S256") return ["invalid_request", "code_challenge_method must be S256"];
  if (!isPkceString(challenge)) return ["invalid_request", "code_challenge is malformed (RFC 7636 §4.2)"];
  return undefined;
}

/** `POST /token`: RFC 6749 §5.1 JSON; §5.2 errors as 400, invalid_client as 401. */
export function handleToken(state: ProviderState, baseUrl: string, req: IncomingMessage, res: ServerResponse, body: string): void {
  const outcome = tokenGrant(state, { headers: req.headers, body, flavor: "standard" });
  if (!outcome.ok) {
    const headers: Record<string, string> = { ...NO_STORE };
    if (outcome.status === 401) headers["www-authenticate"] = 'Basic realm="fake-provider"';
    sendJson(res, outcome.status, { error: outcome.error, error_description: outcome.description }, headers);
    return;
  }
  sendJson(res, 200, tokenBody(state.settings, baseUrl, outcome), NO_STORE);
}

function tokenBody(settings: Settings, baseUrl: string, outcome: TokenSuccess): Record<string, unknown> {
  const body: Record<string, unknown> = { access_token: outcome.accessToken, token_type: "Bearer" };
  if (outcome.expiresIn !== undefined) body.expires_in = outcome.expiresIn;
  if (outcome.refreshToken !== undefined) body.refresh_token = outcome.refreshToken;
  if (outcome.scope.length > 0) body.scope = outcome.scope.join(" ");
  // A member the client does not know: it must ignore it (RFC 6749 §5.1).
  body.id_token = fakeIdToken(settings, baseUrl, settings.user, outcome.nonce);
  return body;
}

/** JWT-shaped, never verifiable (the signature is random): Flet ignores id_token. */
function fakeIdToken(settings: Settings, baseUrl: string, user: FakeUser, nonce: string | undefined): string {
  const part = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  const claims = { iss: baseUrl, aud: settings.clientId, sub: String(user.id), iat: now, exp: now + 3600 };
  const profile = { name: user.name, email: user.email, nonce };
  return `${part({ alg: "RS256", typ: "JWT", kid: "fake-provider" })}.${part({ ...claims, ...profile })}.${randomToken(64)}`;
}

/** `GET /userinfo` with an RFC 6750 bearer token → `{ sub, name, email, ...user }`. */
export function handleUserinfo(state: ProviderState, req: IncomingMessage, res: ServerResponse): void {
  const token = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? "")?.[1];
  if (token === undefined || state.accessRecord(token) === undefined) {
    const description = token === undefined ? "bearer token missing" : "access token unknown, revoked or expired";
    sendJson(res, 401, { error: "invalid_token", error_description: description }, {
      "www-authenticate": `Bearer realm="fake-provider", error="invalid_token", error_description="${description}"`,
    });
    return;
  }
  const { user } = state.settings;
  // FakeUser always carries name and email, so the spread yields { sub, name, email, ...user }.
  sendJson(res, 200, { sub: String(user.id), ...user });
}
