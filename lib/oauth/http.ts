/**
 * The one module that talks HTTP to providers. It wraps simple-oauth2 (code exchange, refresh)
 * and axios (user and group JSON) and hides their quirks, so nothing else in flet-auth sees them:
 *
 * - simple-oauth2 5.1.0 drops the refresh token when a refresh response carries none
 *   (`this.refresh_token` is undefined there): we never use its refreshed token object, we hand
 *   the raw body to `OAuthToken.refreshedWith`, which keeps the old refresh token (RFC 6749 §6).
 * - It accepts an HTTP-200 body with `error` (GitHub's style) as a token: we check (RFC 6749 §5.2).
 * - It has no PKCE: we pass `code_verifier` ourselves (RFC 7636 §4.5).
 * - It has no default timeout and follows no size cap: we set both, and never follow redirects
 *   on the token endpoint (RFC 9700 §4.11).
 * - Its `debug` output prints the request payload, client secret and codes included: we switch
 *   its namespaces off (see `silenceCredentialLogging`).
 * - Without `Accept: application/json` GitHub answers form-encoded; we always send it, and still
 *   parse a form-encoded answer the way oauthlib does.
 */
import axios, { type AxiosInstance } from "axios";
import createDebug from "debug";
import { AuthorizationCode } from "simple-oauth2";
import { FletAuthError, type FletAuthErrorCode } from "../errors.js";
import { isRecord } from "../util/records.js";
import { withDeadline } from "../util/deadline.js";
import { safeError } from "../util/safe-error.js";

/** A JSON document fetched from a provider's API. */
export interface JsonResponse {
  readonly status: number;
  readonly data: unknown;
  /** Response headers, lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
}

/** The provider settings a token request needs. */
export interface TokenClient {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly tokenEndpoint: string;
  readonly redirectUrl: string;
}

/**
 * How flet-auth reaches providers. The default goes over the network; tests and unusual
 * deployments may pass their own (option `http` of `fletAuth`).
 */
export interface OAuthHttp {
  /** RFC 6749 §4.1.3 code exchange; resolves to the token response body (already checked for `error`). */
  exchangeCode(client: TokenClient, params: { readonly code: string; readonly codeVerifier: string }): Promise<Record<string, unknown>>;
  /** RFC 6749 §6 refresh; resolves to the token response body (already checked for `error`). */
  refresh(client: TokenClient, refreshToken: string): Promise<Record<string, unknown>>;
  /** GET a JSON resource with a bearer token (RFC 6750 §2.1). Non-2xx and non-JSON reject. */
  getJson(url: string, accessToken: string, headers?: Readonly<Record<string, string>>): Promise<JsonResponse>;
  /** RFC 7009 token revocation at `endpoint`; rejects when the server does not answer 200. Optional for custom clients. */
  revoke?(client: TokenClient, endpoint: string, token: string, hint: "refresh_token" | "access_token"): Promise<void>;
}

/** Options of {@link createOAuthHttp}. */
export interface OAuthHttpOptions {
  /** Deadline of every provider call, response body included, in ms. @default 10000 */
  readonly timeoutMs?: number;
  /**
   * Hard limit of a refresh request, in ms. A refresh is not cut short at `timeoutMs`: the callers
   * stop waiting then, but the request runs on, so a token the provider rotates late is still
   * stored for the callers that come next instead of being sent again (issue: unknown refresh
   * outcomes). @default max(60000, timeoutMs)
   */
  readonly refreshTimeoutMs?: number;
  /** Largest response accepted, in bytes. @default 1048576 */
  readonly maxResponseBytes?: number;
  /** Sent as `User-Agent` (GitHub's API rejects requests without one). */
  readonly userAgent?: string;
}

/**
 * simple-oauth2 logs `Using request options: {payload: "...client_secret=...&code=..."}` and
 * the Basic credentials under `DEBUG=simple-oauth2:*`. RFC 9700 §4.2/§4.3 and our checklist
 * forbid secrets in logs, so its namespaces are excluded whatever DEBUG says. Checked before
 * every token request, because an app may call `debug.enable()` again at any time.
 */
function silenceCredentialLogging(): void {
  if (!createDebug.enabled("simple-oauth2:client") && !createDebug.enabled("simple-oauth2:request-options")) return;
  const current = createDebug.disable();
  createDebug.enable(current ? `${current},-simple-oauth2:*` : "-simple-oauth2:*");
}

/**
 * Creates the default {@link OAuthHttp}: simple-oauth2 for token calls, axios for JSON.
 *
 * @example
 * fletAuth({ providers, secret, http: createOAuthHttp({ timeoutMs: 5_000, userAgent: "my-app/1.0" }) });
 */
export function createOAuthHttp(options: OAuthHttpOptions = {}): OAuthHttp {
  silenceCredentialLogging();
  const timeoutMs = options.timeoutMs ?? 10_000;
  const refreshTimeoutMs = Math.max(options.refreshTimeoutMs ?? 60_000, timeoutMs);
  const maxBytes = options.maxResponseBytes ?? 1_048_576;
  const userAgent = options.userAgent ?? "flet-auth";
  const clients = new WeakMap<TokenClient, AuthorizationCode>();
  const refreshClients = new WeakMap<TokenClient, AuthorizationCode>();
  const api: AxiosInstance = axios.create({
    timeout: timeoutMs,
    maxContentLength: maxBytes,
    maxRedirects: 0,
    responseType: "text",
    transformResponse: [(body: unknown) => body],
    validateStatus: () => true,
  });
  const httpOptions = {
    timeout: timeoutMs,
    maxBytes,
    redirects: false as const,
    json: true as const,
    headers: { Accept: "application/json", "User-Agent": userAgent },
  };

  const clientFor = (client: TokenClient, forRefresh = false): AuthorizationCode => {
    const cache = forRefresh ? refreshClients : clients;
    let oauth = cache.get(client);
    if (!oauth) {
      const url = new URL(client.tokenEndpoint);
      oauth = new AuthorizationCode({
        client: { id: client.clientId, secret: client.clientSecret },
        auth: { tokenHost: url.origin, tokenPath: `${url.pathname}${url.search}` },
        // client_secret_post, as Flet sends it (RFC 6749 §2.3.1).
        options: { authorizationMethod: "body", bodyFormat: "form" },
        http: forRefresh ? { ...httpOptions, timeout: refreshTimeoutMs } : httpOptions,
      });
      cache.set(client, oauth);
    }
    return oauth;
  };

  return {
    async exchangeCode(client, { code, codeVerifier }) {
      silenceCredentialLogging();
      // Built in a variable: simple-oauth2's types reject PKCE keys inline.
      const params = { code, redirect_uri: client.redirectUrl, code_verifier: codeVerifier };
      try {
        const token = await withDeadline(
          clientFor(client).getToken(params as unknown as Parameters<AuthorizationCode["getToken"]>[0]),
          timeoutMs,
          () => new FletAuthError("provider_timeout", `The code exchange failed: the provider did not answer within ${timeoutMs} ms.`),
        );
        return checkTokenBody(token.token, "token_exchange_failed");
      } catch (err) {
        throw toFletError(err, "token_exchange_failed", "The code exchange failed");
      }
    },

    async refresh(client, refreshToken) {
      silenceCredentialLogging();
      // Flet sends redirect_uri on refresh too (behaviour §3.5); providers ignore it or expect it.
      const params = { redirect_uri: client.redirectUrl };
      try {
        const stub = clientFor(client, true).createToken({ access_token: "", refresh_token: refreshToken });
        const refreshed = await withDeadline(
          stub.refresh(params as Parameters<typeof stub.refresh>[0]),
          refreshTimeoutMs,
          () => new FletAuthError("provider_timeout", `Refreshing the token failed: the provider did not answer within ${refreshTimeoutMs} ms.`),
        );
        return checkTokenBody(refreshed.token, "refresh_failed");
      } catch (err) {
        throw toFletError(err, "refresh_failed", "Refreshing the token failed");
      }
    },

    async revoke(client, endpoint, token, hint) {
      // RFC 7009 §2.1: form-encoded, client authenticated as on the token endpoint (client_secret_post).
      const form = new URLSearchParams({ token, token_type_hint: hint, client_id: client.clientId, client_secret: client.clientSecret });
      let res;
      try {
        res = await api.post<string>(endpoint, form.toString(), {
          signal: AbortSignal.timeout(timeoutMs),
          headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json", "User-Agent": userAgent },
        });
      } catch (err) {
        throw new FletAuthError("provider_timeout", `Revoking the ${hint} at ${redact(endpoint)} failed.`, { cause: safeError(err) });
      }
      // RFC 7009 §2.2: 200 whether or not the token was valid.
      if (res.status !== 200) throw new FletAuthError("refresh_failed", `${redact(endpoint)} answered HTTP ${res.status} to a revocation.`, { status: 502 });
    },

    async getJson(url, accessToken, headers = {}) {
      let res;
      // axios's `timeout` is a socket idle timeout, restarted by every byte: an endpoint trickling
      // its body would hold the request indefinitely. The abort signal is an overall deadline.
      const deadline = AbortSignal.timeout(timeoutMs);
      try {
        res = await api.get<string>(url, {
          signal: deadline,
          headers: { Accept: "application/json", "User-Agent": userAgent, ...headers, Authorization: `Bearer ${accessToken}` },
        });
      } catch (err) {
        const code = axios.isAxiosError(err) ? err.code : undefined;
        if (code === "ECONNABORTED" || code === "ETIMEDOUT" || deadline.aborted) {
          throw new FletAuthError("provider_timeout", `The provider did not answer ${redact(url)} within ${timeoutMs} ms.`, { cause: safeError(err) });
        }
        // safeError(): an AxiosError carries the request headers, Authorization: Bearer included.
        throw new FletAuthError("user_fetch_failed", `Could not reach ${redact(url)}.`, { cause: safeError(err) });
      }
      const responseHeaders = flattenHeaders(res.headers as Record<string, unknown>);
      if (res.status < 200 || res.status > 299) {
        throw new FletAuthError("user_fetch_failed", `${redact(url)} answered HTTP ${res.status}.`, { status: httpStatusFor(res.status) });
      }
      let data: unknown;
      try {
        data = JSON.parse(res.data);
      } catch {
        // No cause: the parser's message quotes the body, which may carry anything.
        const type = (responseHeaders["content-type"] ?? "no content type").slice(0, 100);
        throw new FletAuthError("user_fetch_failed", `${redact(url)} answered ${type}, not JSON.`);
      }
      return { status: res.status, data, headers: responseHeaders };
    },
  };
}

/**
 * Provider 4xx answers (403/404 of an API) keep their status for callers that branch on it;
 * everything else the provider got wrong is a 502 for our client.
 */
function httpStatusFor(providerStatus: number): number {
  return providerStatus === 401 || providerStatus === 403 || providerStatus === 404 ? providerStatus : 502;
}

/** Normalises a token response (JSON object, JSON text or form-encoded text) and rejects `error` bodies. */
function checkTokenBody(raw: unknown, code: FletAuthErrorCode): Record<string, unknown> {
  const body = parseBody(raw);
  if (body[UNRECOGNISED]) {
    throw new FletAuthError(code, "The token endpoint did not answer a token response (neither JSON nor a form).", { status: 502 });
  }
  // simple-oauth2 adds expires_at (a Date) itself; it is not the provider's, so drop it.
  delete body["expires_at"];
  if (typeof body["error"] === "string") throw oauthError(body, code, 200);
  if (typeof body["access_token"] !== "string" || body["access_token"] === "") {
    throw new FletAuthError(code === "refresh_failed" ? code : "invalid_token_response", "The token response has no access_token.");
  }
  const tokenType = body["token_type"];
  // Checklist 11 / RFC 6750: we send the token as Bearer; anything else is not usable as is.
  if (typeof tokenType === "string" && tokenType.toLowerCase() !== "bearer") {
    throw new FletAuthError(code === "refresh_failed" ? code : "invalid_token_response", "Unsupported token_type (flet-auth sends tokens as Bearer).");
  }
  return body;
}

/** Marks a body that was neither JSON nor a form carrying a token or an error (an HTML page, text). */
const UNRECOGNISED = Symbol("unrecognised token response");

function parseBody(raw: unknown): Record<string | symbol, unknown> {
  // A non-JSON 2xx body reaches simple-oauth2 as a Buffer, which its token parser spreads into
  // an object of byte indexes ({"0": 97, "1": 99, …}); put the bytes back together first.
  const bytes = isRecord(raw) && !Buffer.isBuffer(raw) ? fromByteSpread(raw) : undefined;
  if (bytes !== undefined) return parseBody(bytes);
  if (isRecord(raw) && !Buffer.isBuffer(raw)) return { ...raw };
  const text = Buffer.isBuffer(raw) ? raw.toString("utf8") : typeof raw === "string" ? raw : "";
  try {
    const parsed: unknown = JSON.parse(text);
    if (isRecord(parsed)) return parsed;
  } catch {
    // oauthlib falls back to application/x-www-form-urlencoded; so do we.
  }
  const form: Record<string | symbol, unknown> = Object.fromEntries(new URLSearchParams(text.trim()));
  if (!("access_token" in form) && !("error" in form)) form[UNRECOGNISED] = true;
  return form;
}

function fromByteSpread(value: Record<string, unknown>): Buffer | undefined {
  // On refresh, simple-oauth2 sets `refresh_token` on the response before spreading it
  // (undefined when the answer is not JSON): not one of the provider's bytes.
  const keys = Object.keys(value).filter((k) => k !== "refresh_token" || value[k] !== undefined);
  if (keys.length === 0 || !keys.every((k, i) => k === String(i))) return undefined;
  const values = keys.map((k) => value[k]);
  if (!values.every((v) => typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 255)) return undefined;
  return Buffer.from(values as number[]);
}

function oauthError(body: Record<string | symbol, unknown>, code: FletAuthErrorCode, httpStatus: number): FletAuthError {
  const error = String(body["error"]) || "invalid_request";
  const description = typeof body["error_description"] === "string" ? body["error_description"] : undefined;
  // RFC 6749 §5.2: invalid_grant means the code or refresh token is dead: the user must sign in again.
  // A dead code is the browser's problem (400); a dead refresh token means signing in again (401).
  const status =
    error === "invalid_grant" ? (code === "refresh_failed" ? 401 : 400) : httpStatus >= 500 ? 502 : code === "refresh_failed" ? 401 : 502;
  return new FletAuthError(code, `(${error}) ${description ?? ""}`.trim(), { oauthError: error, status, ...(description ? { description } : {}) });
}

interface BoomLike {
  isBoom: true;
  message: string;
  output?: { statusCode?: number };
  data?: { payload?: unknown; isResponseError?: boolean } | null;
}

function isBoom(err: unknown): err is BoomLike {
  return typeof err === "object" && err !== null && (err as { isBoom?: unknown }).isBoom === true;
}

/** Maps whatever simple-oauth2/wreck threw to a FletAuthError that carries no secret. */
function toFletError(err: unknown, code: FletAuthErrorCode, what: string): FletAuthError {
  if (err instanceof FletAuthError) return err;
  if (isBoom(err)) {
    const status = err.output?.statusCode ?? 502;
    if (err.message === "Client request timeout" || status === 504 || status === 408) {
      return new FletAuthError("provider_timeout", `${what}: the provider did not answer in time.`, { cause: safeError(err) });
    }
    if (err.data?.isResponseError) {
      const body = parseBody(err.data.payload);
      if (typeof body["error"] === "string") return oauthError(body, code, status);
      return new FletAuthError(code, `${what}: the provider answered HTTP ${status}.`, { status: status === 401 && code === "refresh_failed" ? 401 : 502 });
    }
    // A connection failure's message names the host and the errno; keep it. Any other message
    // (wreck's JSON parse errors) may quote the response body, tokens included: drop it.
    if (/^Client request error/.test(err.message)) {
      // Never connected (refused, no such host): nothing was sent, a definite failure. Lost after
      // connecting (reset, hang-up, EPIPE): the provider may have processed the request — for a
      // refresh, rotated the token — so the outcome is unknown, like a timeout.
      if (/ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH/.test(err.message)) {
        return new FletAuthError(code, `${what}: ${err.message}.`, { status: 502, cause: safeError(err) });
      }
      return new FletAuthError("provider_timeout", `${what}: the connection was lost before the provider answered.`, { cause: safeError(err) });
    }
    return new FletAuthError(code, `${what}: the provider's answer could not be read.`, { status: 502, cause: bodyFreeError(err) });
  }
  if (err instanceof Error && /Invalid options provided to simple-oauth2/.test(err.message)) {
    return new FletAuthError(code, `${what}: invalid client configuration.`, { status: 500 });
  }
  return new FletAuthError(code, `${what}.`, { status: 502, cause: safeError(err) });
}

function flattenHeaders(headers: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || v === null) continue;
    out[k.toLowerCase()] = Array.isArray(v) ? v.join(", ") : String(v);
  }
  return out;
}

/** URL without its query string: queries may carry tokens (they should not, but logs must not leak them). */
function redact(url: string): string {
  const q = url.indexOf("?");
  return q === -1 ? url : `${url.slice(0, q)}?…`;
}

/** An error that names what failed without any of its message (which may quote a response body). */
function bodyFreeError(err: unknown): Error {
  const clean = new Error("the provider's response could not be processed");
  clean.name = err instanceof Error ? err.name : "Error";
  return clean;
}
