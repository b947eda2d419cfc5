/**
 * Where a login starts compared with where the provider sends the browser back. The session
 * cookie belongs to the host name the login started on; when the provider's `redirectUrl` names
 * another origin, the callback finds no pending login. `localhost` versus `127.0.0.1` is fixed by
 * moving the browser first; any other difference can only be reported.
 */
import { isLoopbackHost } from "../providers/endpoint-url.js";

/** How a request's origin compares with a provider's `redirectUrl`. */
export type OriginCheck =
  /** Same origin, or the request's origin is unknown (no usable `Host` header): nothing to do. */
  | { readonly kind: "same" }
  /**
   * Same scheme and port, another name of this machine (`127.0.0.1` for `localhost`, …): the
   * login route moves the browser to `redirectOrigin` before it starts the login.
   */
  | { readonly kind: "loopbackAlias"; readonly requestOrigin: string; readonly redirectOrigin: string }
  /** Anything else (another port, host or scheme): the sign-in cannot complete as configured. */
  | { readonly kind: "mismatch"; readonly requestOrigin: string; readonly redirectOrigin: string };

/**
 * The origin a request was made to, from `req.protocol` (which honours `trust proxy`) and the
 * `Host` header, normalised as URL origins are (lower case, no default port); `undefined` when
 * there is no usable host.
 */
export function requestOrigin(protocol: string, host: string | undefined): string | undefined {
  if (host === undefined || /[\s/\\?#@]/.test(host)) return undefined;
  if (protocol !== "http" && protocol !== "https") return undefined;
  try {
    // An empty or malformed host throws here.
    return new URL(`${protocol}://${host}`).origin;
  } catch {
    return undefined;
  }
}

/** Compares the origin a login starts on with the origin of the provider's `redirectUrl`. */
export function checkOrigin(origin: string | undefined, redirectUrl: string): OriginCheck {
  if (origin === undefined) return { kind: "same" };
  const expected = new URL(redirectUrl);
  const actual = new URL(origin);
  if (actual.origin === expected.origin) return { kind: "same" };
  const alias =
    actual.protocol === expected.protocol &&
    actual.port === expected.port &&
    isLoopbackHost(actual.hostname) &&
    isLoopbackHost(expected.hostname);
  return { kind: alias ? "loopbackAlias" : "mismatch", requestOrigin: actual.origin, redirectOrigin: expected.origin };
}

/**
 * The same path and query on another origin. Only the path and query of `originalUrl` are kept,
 * and they are appended to `origin` as text, so no part of the request can choose the host.
 */
export function sameRequestOn(origin: string, originalUrl: string): string {
  const url = new URL(originalUrl, "http://request.invalid");
  return `${origin}${url.pathname}${url.search}`;
}

/**
 * The warning logged once per provider when a login starts on an origin its `redirectUrl` does
 * not name. When the difference looks like a proxy's (plain http in front of an https
 * redirectUrl, or a loopback address in front of a public one), it says how to let Express see
 * the browser's address.
 */
export function originWarning(provider: string, redirectUrl: string, check: Exclude<OriginCheck, { kind: "same" }>): string {
  const expected = new URL(redirectUrl);
  const actual = new URL(check.requestOrigin);
  const viaProxy =
    (actual.protocol === "http:" && expected.protocol === "https:") || (isLoopbackHost(actual.hostname) && !isLoopbackHost(expected.hostname));
  return (
    `flet-auth: provider "${provider}": a login started on ${check.requestOrigin}, but its redirectUrl ` +
    `(${redirectUrl}) sends the browser back to ${check.redirectOrigin}. There the session cookie of ` +
    `${check.requestOrigin} is not sent (or the app does not listen), so the sign-in cannot complete. ` +
    `Set the provider's redirectUrl to this app's address (${check.requestOrigin}${expected.pathname}) and ` +
    `register that URL at the provider, or open the app at ${check.redirectOrigin}.` +
    (viaProxy
      ? ` Behind a proxy or load balancer, let Express see the browser's address: app.set("trust proxy", 1) ` +
        `for the https scheme (X-Forwarded-Proto), and pass the original Host header on (nginx: proxy_set_header Host $host).`
      : "")
  );
}
