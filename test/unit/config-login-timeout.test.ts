/**
 * `loginTimeoutMs` (docs/configuration.md): from 1 second to 10 minutes (RFC 6749 §4.1.2: an
 * authorization code lives 10 minutes at most, so a longer wait could not end in a sign-in).
 * Both ends are accepted; one millisecond outside either is refused, naming the option.
 */
import { describe, expect, it } from "vitest";
import { fletAuth, OAuthProvider, type FletAuthOptions } from "../../lib/index.js";

const provider = new OAuthProvider({
  clientId: "client",
  clientSecret: "client-secret",
  authorizationEndpoint: "https://idp.example/authorize",
  tokenEndpoint: "https://idp.example/token",
  redirectUrl: "http://localhost/oauth_callback",
});

const withTimeout = (loginTimeoutMs: unknown) => () =>
  fletAuth({ providers: { demo: provider }, secret: "k".repeat(32), loginTimeoutMs } as FletAuthOptions);

describe("options.loginTimeoutMs", () => {
  it.each([600_000, 1_000])("%d is accepted", (value) => {
    expect(withTimeout(value)).not.toThrow();
  });

  it.each([600_001, 999, Number.POSITIVE_INFINITY, Number.NaN, "600000"])("%s is refused, naming the option and its range", (value) => {
    expect(withTimeout(value)).toThrow(new TypeError("options.loginTimeoutMs must be a number from 1000 to 600000"));
  });
});
