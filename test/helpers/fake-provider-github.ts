/**
 * The GitHub-like half of the fake provider: `POST /login/oauth/access_token` with GitHub's
 * quirks, and the REST API under `/api` (`/api/user`, `/api/user/emails`, `/api/user/teams`).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ProviderState } from "./fake-provider-core.js";
import { tokenGrant, type ErrorKind } from "./fake-provider-grants.js";
import { NO_STORE, send, sendJson } from "./fake-provider-http.js";

const TROUBLESHOOTING =
  "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors";

/** GitHub's own error codes and fixed descriptions for the failures it distinguishes. */
const GITHUB_ERRORS: Partial<Record<ErrorKind, { error: string; description: string; uri: string }>> = {
  client: {
    error: "incorrect_client_credentials",
    description: "The client_id and/or client_secret passed are incorrect.",
    uri: `${TROUBLESHOOTING}/#incorrect-client-credentials`,
  },
  redirect_uri: {
    error: "redirect_uri_mismatch",
    description: "The redirect_uri MUST match the registered callback URL for this application.",
    uri: `${TROUBLESHOOTING}/#redirect-uri-mismatch2`,
  },
  code: {
    error: "bad_verification_code",
    description: "The code passed is incorrect or expired.",
    uri: `${TROUBLESHOOTING}/#bad-verification-code`,
  },
  pkce: {
    error: "bad_verification_code",
    description: "The code_verifier does not match the code_challenge supplied in the authorization request for PKCE.",
    uri: `${TROUBLESHOOTING}/#bad-verification-code`,
  },
  refresh: {
    error: "bad_refresh_token",
    description: "The refresh token passed is incorrect or expired.",
    uri: "https://docs.github.com/apps/creating-github-apps/authenticating-with-a-github-app/refreshing-user-access-tokens",
  },
};

/** GitHub's lifetime of a user refresh token (6 months), an extra key clients must tolerate. */
const REFRESH_TOKEN_EXPIRES_IN = 15_897_600;

/** GitHub answers JSON only when the Accept header lists application/json. */
export function acceptsJson(accept: string | undefined): boolean {
  return (accept ?? "")
    .split(",")
    .some((range) => range.split(";")[0]?.trim().toLowerCase() === "application/json");
}

/**
 * `POST /login/oauth/access_token`. Errors come with HTTP 200 and an `error` member; without
 * `Accept: application/json` the body is form-encoded and `token_type` is lowercase `bearer`,
 * `scope` comma-separated. Only a body that is not a form at all gets a 400.
 */
export function handleGitHubToken(state: ProviderState, req: IncomingMessage, res: ServerResponse, body: string): void {
  const outcome = tokenGrant(state, { headers: req.headers, body, flavor: "github" });
  if (!outcome.ok && outcome.kind === "request") {
    sendJson(res, 400, { error: outcome.error, error_description: outcome.description }, NO_STORE);
    return;
  }
  const payload: Record<string, string | number> = {};
  if (outcome.ok) {
    payload.access_token = outcome.accessToken;
    if (outcome.expiresIn !== undefined) payload.expires_in = outcome.expiresIn;
    if (outcome.refreshToken !== undefined) {
      payload.refresh_token = outcome.refreshToken;
      payload.refresh_token_expires_in = REFRESH_TOKEN_EXPIRES_IN;
    }
    payload.scope = outcome.scope.join(",");
    payload.token_type = "bearer";
  } else {
    const known = GITHUB_ERRORS[outcome.kind];
    payload.error = known?.error ?? outcome.error;
    payload.error_description = known?.description ?? outcome.description;
    payload.error_uri = known?.uri ?? TROUBLESHOOTING;
  }
  if (acceptsJson(req.headers.accept)) {
    sendJson(res, 200, payload, NO_STORE);
    return;
  }
  const form = new URLSearchParams(Object.entries(payload).map(([k, v]): [string, string] => [k, String(v)]));
  send(res, 200, "application/x-www-form-urlencoded; charset=utf-8", form.toString(), NO_STORE);
}

const NO_USER_AGENT =
  "Request forbidden by administrative rules. Please make sure your request has a User-Agent header " +
  "(https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required). " +
  "Check https://developer.github.com for other possible causes.\n";

const apiError = (res: ServerResponse, status: number, message: string): void =>
  sendJson(res, status, { message, documentation_url: "https://docs.github.com/rest", status: String(status) });

/** The GitHub REST API subset Flet uses: `GET /user`, `/user/emails`, `/user/teams`. */
export function handleGitHubApi(state: ProviderState, baseUrl: string, req: IncomingMessage, res: ServerResponse, url: URL): void {
  // GitHub rejects API requests without a User-Agent before looking at anything else.
  if ((req.headers["user-agent"] ?? "") === "") {
    send(res, 403, "text/plain; charset=utf-8", NO_USER_AGENT);
    return;
  }
  const auth = req.headers.authorization;
  if (auth === undefined || auth === "") {
    apiError(res, 401, "Requires authentication");
    return;
  }
  const token = /^(?:Bearer|token)\s+(\S+)\s*$/i.exec(auth)?.[1];
  const rec = token === undefined ? undefined : state.accessRecord(token);
  if (rec === undefined) {
    apiError(res, 401, "Bad credentials");
    return;
  }
  const headers = { "x-oauth-scopes": rec.scope.join(", ") };
  if (req.method !== "GET" && req.method !== "HEAD") {
    apiError(res, 404, "Not Found");
  } else if (url.pathname === "/api/user") {
    sendJson(res, 200, state.settings.user, headers);
  } else if (url.pathname === "/api/user/emails") {
    sendJson(res, 200, state.settings.emails, headers);
  } else if (url.pathname === "/api/user/teams") {
    sendTeams(state.settings.teams, baseUrl, res, url, headers);
  } else {
    apiError(res, 404, "Not Found");
  }
}

/** Positive integer query parameter, GitHub-style: anything unusable falls back to the default. */
function intParam(url: URL, name: string, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number.parseInt(url.searchParams.get(name) ?? "", 10);
  return Number.isFinite(n) && n >= 1 ? Math.min(n, max) : fallback;
}

function sendTeams(count: number, baseUrl: string, res: ServerResponse, url: URL, headers: Record<string, string>): void {
  const perPage = intParam(url, "per_page", 30, 100);
  const page = intParam(url, "page", 1);
  const total = Math.max(0, Math.floor(count));
  const lastPage = Math.max(1, Math.ceil(total / perPage));
  const first = (page - 1) * perPage + 1;
  const teams: unknown[] = [];
  for (let i = first; i <= Math.min(total, page * perPage); i++) teams.push(makeTeam(i, baseUrl));
  const link = linkHeader(baseUrl, url, page, lastPage);
  sendJson(res, 200, teams, link === undefined ? headers : { ...headers, link });
}

/**
 * GitHub's pagination header: `<…page=2>; rel="next", <…page=5>; rel="last"` on the first page,
 * with `prev` and `first` added on later pages, in GitHub's order (prev, next, last, first).
 */
function linkHeader(baseUrl: string, url: URL, page: number, lastPage: number): string | undefined {
  const at = (p: number, rel: string): string => {
    const target = new URL(url.pathname + url.search, baseUrl);
    target.searchParams.set("page", String(p));
    return `<${target.href}>; rel="${rel}"`;
  };
  const links: string[] = [];
  if (page > 1) links.push(at(page - 1, "prev"));
  if (page < lastPage) links.push(at(page + 1, "next"), at(lastPage, "last"));
  if (page > 1) links.push(at(1, "first"));
  return links.length === 0 ? undefined : links.join(", ");
}

const ORGS = [
  { login: "acme", id: 9001 },
  { login: "globex", id: 9002 },
] as const;

/** Team `i` (1-based). Teams 1 and 2 are both "Developers", in different organizations. */
function makeTeam(i: number, baseUrl: string): Record<string, unknown> {
  const org = ORGS[(i - 1) % 2] ?? ORGS[0];
  const name = i <= 2 ? "Developers" : i === 3 ? "Admins" : `Team ${i}`;
  const slug = name.toLowerCase().replace(/\s+/g, "-");
  const id = 4000 + i;
  return {
    id,
    node_id: Buffer.from(`04:Team${id}`).toString("base64"),
    url: `${baseUrl}/api/teams/${id}`,
    html_url: `https://github.com/orgs/${org.login}/teams/${slug}`,
    name,
    slug,
    description: `${name} of ${org.login}`,
    privacy: "closed",
    permission: "pull",
    parent: null,
    organization: {
      login: org.login,
      id: org.id,
      node_id: Buffer.from(`012:Organization${org.id}`).toString("base64"),
      url: `${baseUrl}/api/orgs/${org.login}`,
      description: null,
    },
  };
}
