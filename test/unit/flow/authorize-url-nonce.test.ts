/**
 * The OpenID Connect nonce in the authorize URL (lib/flow/authorize-url.ts; OpenID Connect Core
 * §3.1.2.1): sent as `nonce` when the login verifies an ID token, after the PKCE pair and before
 * the provider's own parameters; absent otherwise.
 */
import { describe, expect, it } from "vitest";
import { authorizationUrl } from "../../../lib/flow/authorize-url.js";

const provider = {
  authorizationEndpoint: "https://idp.example/authorize",
  clientId: "cid",
  redirectUrl: "https://app.example/cb",
  authorizationParams: { prompt: "login" },
};

describe("authorizationUrl nonce", () => {
  it("sends the nonce as the `nonce` parameter, after the PKCE pair and before the provider's parameters", () => {
    const url = authorizationUrl(provider, { state: "st", scope: ["openid"], codeChallenge: "ch", nonce: "n-0123" });
    expect(url).toBe(
      "https://idp.example/authorize?response_type=code&client_id=cid&redirect_uri=https%3A%2F%2Fapp.example%2Fcb" +
        "&scope=openid&state=st&code_challenge=ch&code_challenge_method=S256&nonce=n-0123&prompt=login",
    );
    expect(new URL(url).searchParams.getAll("nonce")).toEqual(["n-0123"]);
  });

  it("without a nonce there is no nonce parameter", () => {
    const url = authorizationUrl(provider, { state: "st", scope: ["openid"], nonce: undefined });
    expect(new URL(url).searchParams.has("nonce")).toBe(false);
  });
});
