/**
 * OpenID Connect Discovery 1.0: the provider's metadata, read once at start-up. The `issuer` in
 * the document must equal the one asked for (§4.3), or a compromised or misconfigured endpoint
 * could name another issuer's keys.
 */
import { FletAuthError } from "../errors.js";
import { assertSecureUrl } from "../providers/endpoint-url.js";
import { isRecord } from "../util/records.js";

/** What flet-auth takes from a discovery document. */
export interface DiscoveredMetadata {
  readonly issuer: string;
  readonly authorizationEndpoint: string;
  readonly tokenEndpoint: string;
  readonly jwksUri: string;
  readonly userEndpoint?: string;
  readonly endSessionEndpoint?: string;
  readonly revocationEndpoint?: string;
  readonly idTokenSigningAlgorithms?: readonly string[];
  /** RFC 9207 `authorization_response_iss_parameter_supported`. */
  readonly sendsIssuer: boolean;
}

/** Options of discovery itself. */
export interface DiscoveryOptions {
  /** The HTTP client; a `fetch`-compatible function. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** Deadline of the metadata request, body included. @default 10000 */
  readonly timeoutMs?: number;
}

const failed = (message: string, cause?: unknown): FletAuthError =>
  new FletAuthError("discovery_failed", `OpenID Connect discovery failed: ${message}`, cause === undefined ? {} : { cause });

/** Reads `<issuer>/.well-known/openid-configuration` and checks it. */
export async function readDiscovery(issuer: string, options: DiscoveryOptions = {}): Promise<DiscoveredMetadata> {
  if (typeof issuer !== "string" || issuer === "") throw new TypeError("OAuthProvider.discover(issuer): issuer must be the provider's issuer URL");
  // Before any request: an http: issuer off loopback would fetch the metadata in the clear.
  assertSecureUrl("OAuthProvider.discover(issuer)", issuer);
  const doFetch = options.fetch ?? globalThis.fetch;
  const timeoutMs = options.timeoutMs ?? 10_000;
  // §4: the issuer with any trailing "/" removed, then the well-known path.
  const url = `${issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`;
  let body: unknown;
  try {
    const res = await doFetch(url, { headers: { accept: "application/json" }, redirect: "error", signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) throw failed(`${url} answered HTTP ${res.status}.`);
    body = await res.json();
  } catch (err) {
    if (err instanceof FletAuthError) throw err;
    throw failed(`could not read ${url} (${err instanceof Error ? err.name : "error"}).`, err);
  }
  if (!isRecord(body)) throw failed(`${url} is not a JSON object.`);
  if (body["issuer"] !== issuer) {
    throw failed(`the document names another issuer than ${JSON.stringify(issuer)} (OpenID Connect Discovery §4.3).`);
  }
  const text = (key: string): string | undefined => (typeof body[key] === "string" && body[key] !== "" ? (body[key] as string) : undefined);
  const required = (key: string): string => {
    const value = text(key);
    if (value === undefined) throw failed(`the document has no ${key}.`);
    return value;
  };
  const algorithms = Array.isArray(body["id_token_signing_alg_values_supported"])
    ? (body["id_token_signing_alg_values_supported"] as unknown[]).filter((a): a is string => typeof a === "string" && a !== "none" && !/^HS/.test(a))
    : undefined;
  const userEndpoint = text("userinfo_endpoint");
  const endSessionEndpoint = text("end_session_endpoint");
  const revocationEndpoint = text("revocation_endpoint");
  return {
    issuer,
    authorizationEndpoint: required("authorization_endpoint"),
    tokenEndpoint: required("token_endpoint"),
    jwksUri: required("jwks_uri"),
    ...(userEndpoint !== undefined ? { userEndpoint } : {}),
    ...(endSessionEndpoint !== undefined ? { endSessionEndpoint } : {}),
    ...(revocationEndpoint !== undefined ? { revocationEndpoint } : {}),
    ...(algorithms !== undefined && algorithms.length > 0 ? { idTokenSigningAlgorithms: algorithms } : {}),
    sendsIssuer: body["authorization_response_iss_parameter_supported"] === true,
  };
}
