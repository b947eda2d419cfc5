/**
 * A fake OAuth 2.0 authorization server + resource server on `node:http` (127.0.0.1, ephemeral
 * port) for integration tests. One server exposes:
 *
 * - a standard provider: `GET /authorize`, `POST /token`, `GET /userinfo`;
 * - a GitHub look-alike: `GET /login/oauth/authorize`, `POST /login/oauth/access_token`,
 *   `GET /api/user`, `/api/user/emails`, `/api/user/teams` (see fake-provider-github.ts).
 *
 * @example
 * const provider = await startFakeProvider({ accessTokenTtl: 60 });
 * const res = await agent.get("/login/demo");
 * const callback = await provider.authorize(res.headers.location);
 * await agent.get(new URL(callback).pathname + new URL(callback).search);
 * expect(provider.count("/token", "authorization_code")).toBe(1);
 * await provider.close();
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { ProviderState, applyOptions, defaultSettings, type FakeProviderOptions } from "./fake-provider-core.js";
import { handleGitHubApi, handleGitHubToken } from "./fake-provider-github.js";
import { isFormContentType, parseParams, readBody, send, sendJson } from "./fake-provider-http.js";
import { handleAuthorize, handleToken, handleUserinfo } from "./fake-provider-standard.js";

export { DEFAULT_EMAILS, DEFAULT_USER } from "./fake-provider-core.js";
export type { FakeEmail, FakeProviderOptions, FakeUser } from "./fake-provider-core.js";

/** Options that make the GitHub endpoints behave like a GitHub OAuth App: no expiry, no refresh token. */
export const GITHUB_OAUTH_APP: Readonly<Partial<FakeProviderOptions>> = Object.freeze({
  accessTokenTtl: 0,
  issueRefreshTokens: false,
});

/** One request the provider received. */
export interface RecordedRequest {
  method: string;
  /** The path without the query string. */
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  /** The raw body, UTF-8. */
  body: string;
  /** The body parsed as application/x-www-form-urlencoded (empty for other content types). */
  form: Record<string, string>;
}

/** A one-shot replacement (or delay/extra headers) for the next request to a path. */
export interface ResponseOverride {
  status?: number;
  body?: string;
  contentType?: string;
  delayMs?: number;
  headers?: Record<string, string>;
}

export interface FakeProvider {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Every request, in arrival order. */
  readonly requests: RecordedRequest[];
  /** Requests to `path` (e.g. "/token"), optionally only those with that `grant_type`. */
  count(path: string, grantType?: "authorization_code" | "refresh_token"): number;
  /**
   * Queues a one-shot override for the next request to `path`. With `status`, `body` or
   * `contentType` the canned response replaces the endpoint (status 200, empty body and
   * application/json by default); with only `delayMs`/`headers` the endpoint still answers,
   * later and with the extra headers. Several calls queue in order.
   */
  nextResponse(path: string, response: ResponseOverride): void;
  /**
   * The user's consent: GETs `authorizeUrl` (no redirect following) and returns the callback
   * URL — redirect_uri plus `code` and `state`, or `error=access_denied` with `deny`.
   * Throws when the provider rejects the request instead of redirecting.
   */
  authorize(authorizeUrl: string, options?: { deny?: boolean }): Promise<string>;
  /** Invalidates the issued access tokens, refresh tokens, or both (default). New ones still work. */
  revokeAll(which?: "access" | "refresh" | "all"): void;
  /** Changes behaviour mid-test; an explicit `undefined` restores a default. */
  set(options: Partial<FakeProviderOptions>): void;
  /** Stops the server, dropping keep-alive connections and pending delays. Idempotent. */
  close(): Promise<void>;
}

// Captured at load so a test's fake timers do not freeze the provider's delays.
const realSetTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;

/** Starts a fake provider on 127.0.0.1 with an ephemeral port. */
export async function startFakeProvider(options: FakeProviderOptions = {}): Promise<FakeProvider> {
  const settings = defaultSettings();
  applyOptions(settings, options);
  const state = new ProviderState(settings);
  const requests: RecordedRequest[] = [];
  const overrides = new Map<string, ResponseOverride[]>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  let baseUrl = "";

  const sleep = (ms: number): Promise<void> =>
    ms <= 0
      ? Promise.resolve()
      : new Promise((resolve) => {
          const timer = realSetTimeout(() => {
            timers.delete(timer);
            resolve();
          }, ms);
          timers.add(timer);
        });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let url: URL | undefined;
    try {
      const target = req.url ?? "/";
      // Prefixing (rather than a base URL) keeps a path such as "//x" a path, not an authority.
      url = new URL(target.startsWith("/") ? `http://127.0.0.1${target}` : target);
    } catch {
      url = undefined;
    }
    const record: RecordedRequest = {
      method: req.method ?? "",
      path: url?.pathname ?? req.url ?? "",
      query: url === undefined ? {} : parseParams(url.searchParams).values,
      headers: { ...req.headers },
      body: "",
      form: {},
    };
    requests.push(record);
    const { body, tooLarge } = await readBody(req);
    record.body = body;
    if (isFormContentType(req.headers)) record.form = parseParams(new URLSearchParams(body)).values;
    if (url === undefined || tooLarge) {
      sendJson(res, 400, { error: "invalid_request", error_description: tooLarge ? "body too large" : "malformed URL" });
      return;
    }

    const override = overrides.get(url.pathname)?.shift();
    if (override !== undefined) {
      await sleep(override.delayMs ?? 0);
      if (override.status !== undefined || override.body !== undefined || override.contentType !== undefined) {
        send(res, override.status ?? 200, override.contentType ?? "application/json", override.body ?? "", override.headers);
        return;
      }
      for (const [name, value] of Object.entries(override.headers ?? {})) res.setHeader(name, value);
    }
    await route(req, res, url, body);
  }

  async function route(req: IncomingMessage, res: ServerResponse, url: URL, body: string): Promise<void> {
    const method = req.method ?? "";
    const allow = (expected: string[]): boolean => {
      if (expected.includes(method)) return true;
      sendJson(res, 405, { error: "invalid_request", error_description: `${method} not allowed` }, { allow: expected.join(", ") });
      return false;
    };
    switch (url.pathname) {
      case "/authorize":
      case "/login/oauth/authorize":
        if (allow(["GET"])) handleAuthorize(state, res, url);
        return;
      case "/token":
      case "/login/oauth/access_token":
        if (!allow(["POST"])) return;
        await sleep(settings.tokenDelayMs);
        if (url.pathname === "/token") handleToken(state, baseUrl, req, res, body);
        else handleGitHubToken(state, req, res, body);
        return;
      case "/userinfo":
        if (allow(["GET", "POST"])) handleUserinfo(state, req, res);
        return;
      default:
        if (url.pathname.startsWith("/api/")) handleGitHubApi(state, baseUrl, req, res, url);
        else sendJson(res, 404, { error: "not_found", error_description: `no endpoint ${url.pathname}` });
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      sendJson(res, 500, { error: "server_error", error_description: `fake provider bug: ${String(err)}` });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let closing: Promise<void> | undefined;

  return {
    url: baseUrl,
    get clientId() {
      return settings.clientId;
    },
    get clientSecret() {
      return settings.clientSecret;
    },
    requests,
    count(path, grantType) {
      return requests.filter((r) => r.path === path && (grantType === undefined || r.form.grant_type === grantType)).length;
    },
    nextResponse(path, response) {
      const queue = overrides.get(path) ?? [];
      queue.push({ ...response });
      overrides.set(path, queue);
    },
    async authorize(authorizeUrl, authorizeOptions = {}) {
      let target = authorizeUrl.split("#")[0] ?? authorizeUrl;
      if (authorizeOptions.deny === true) target += `${target.includes("?") ? "&" : "?"}deny=1`;
      const res = await fetch(target, { redirect: "manual" });
      const text = await res.text();
      const location = res.headers.get("location");
      if (res.status !== 302 || location === null) {
        throw new Error(`fake provider refused ${target} (HTTP ${res.status}): ${text}`);
      }
      return location;
    },
    revokeAll(which = "all") {
      if (which !== "refresh") state.access.clear();
      if (which !== "access") for (const [token, rec] of state.refresh) state.retire(token, rec.grantId, "revoked");
    },
    set(changes) {
      applyOptions(settings, changes);
    },
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        for (const timer of timers) realClearTimeout(timer);
        timers.clear();
        server.close((err) => (err === undefined ? resolve() : reject(err)));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
