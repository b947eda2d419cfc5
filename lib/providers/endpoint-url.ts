/** Provider endpoint URLs, checked once when a provider is constructed. */

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);

/** True for hosts that never leave this machine (RFC 8252 §8.3 treats loopback http as acceptable). */
export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname) || /^127(\.\d{1,3}){3}$/.test(hostname) || hostname.endsWith(".localhost");
}

/**
 * Checks an endpoint URL at construction time: absolute, `https:`, or `http:` on loopback
 * (tests and local demos). RFC 6749 §3.1 and §3.2 require TLS for both endpoints.
 */
export function assertSecureUrl(optionPath: string, value: unknown): string {
  if (typeof value !== "string" || value === "") {
    throw new TypeError(`${optionPath} must be a non-empty URL string`);
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TypeError(`${optionPath} must be an absolute URL such as "https://example.com/path" (got ${JSON.stringify(value)})`);
  }
  if (url.protocol === "https:") return value;
  if (url.protocol === "http:" && isLoopbackHost(url.hostname)) return value;
  throw new TypeError(
    `${optionPath} must use https: (http: is accepted only for loopback hosts such as localhost or 127.0.0.1); got ${JSON.stringify(value)}`,
  );
}
