/**
 * Endpoint URL checks (lib/providers/endpoint-url.ts) at their edges: which hosts count as this
 * machine (http: is accepted there only), and the message for an empty URL.
 *
 * The module is imported inside each test after `vi.resetModules()`, so its module-level set of
 * loopback names is built within the test that relies on it.
 */
import { beforeEach, describe, expect, it, vi } from "vitest";

type EndpointUrlModule = typeof import("../../../lib/providers/endpoint-url.js");

beforeEach(() => {
  vi.resetModules();
});

const load = (): Promise<EndpointUrlModule> => import("../../../lib/providers/endpoint-url.js");

describe("http: is accepted on every loopback name", () => {
  it.each([
    "http://localhost:8550/oauth_callback",
    "http://localhost/oauth_callback",
    "http://[::1]:8550/oauth_callback",
    "http://127.0.0.1:8550/oauth_callback",
    "http://127.0.0.53/token",
    "http://127.10.200.255:9000/token",
    "http://app.localhost:3000/cb",
  ])("%s", async (url) => {
    const { assertSecureUrl } = await load();
    expect(assertSecureUrl("options.redirectUrl", url)).toBe(url);
  });
});

describe("isLoopbackHost: the host names of this machine, and nothing that merely contains them", () => {
  it("names: localhost, *.localhost, 127.0.0.0/8 in dotted form with 1 to 3 digits per part, ::1 with or without brackets", async () => {
    const { isLoopbackHost } = await load();
    for (const host of ["localhost", "app.localhost", "127.0.0.1", "127.0.0.53", "127.1.22.233", "[::1]", "::1"]) {
      expect(isLoopbackHost(host), host).toBe(true);
    }
  });

  it("not: names or addresses that only end like a loopback address", async () => {
    const { isLoopbackHost } = await load();
    for (const host of ["1127.0.0.1", "10.127.0.0.1", "evil.127.0.0.1", "127.0.0.1.nip.io", "localhost.evil.example", "127.0.0.1000", "example.com", ""]) {
      expect(isLoopbackHost(host), host).toBe(false);
    }
  });
});

describe("an empty URL gets the message for a missing URL", () => {
  it("'' is 'must be a non-empty URL string', not a parse failure", async () => {
    const { assertSecureUrl } = await load();
    expect(() => assertSecureUrl("options.tokenEndpoint", "")).toThrow(new TypeError("options.tokenEndpoint must be a non-empty URL string"));
  });

  it("a non-string gets the same message", async () => {
    const { assertSecureUrl } = await load();
    expect(() => assertSecureUrl("options.tokenEndpoint", undefined)).toThrow(new TypeError("options.tokenEndpoint must be a non-empty URL string"));
  });
});
