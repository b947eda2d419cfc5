/**
 * AzureOAuthProvider's options (lib/providers/azure.ts): tenant and authority become the v2.0
 * endpoints; Microsoft's OpenID Connect values apply only to Microsoft's own authority, with the
 * tenant in the issuer only when the tenant is a tenant id (a GUID).
 */
import { describe, expect, it } from "vitest";
import { AzureOAuthProvider, type AzureOAuthProviderOptions } from "../../../lib/index.js";

const REDIRECT_URL = "http://127.0.0.1/oauth_callback";
const BASE = { clientId: "client", clientSecret: "secret", redirectUrl: REDIRECT_URL } as const;
const MICROSOFT = "https://login.microsoftonline.com";
const TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47";

const azure = (options: Partial<AzureOAuthProviderOptions> = {}): AzureOAuthProvider =>
  new AzureOAuthProvider({ ...BASE, ...options } as AzureOAuthProviderOptions);

describe("AzureOAuthProvider endpoints", () => {
  it("without a tenant: the \"common\" tenant on Microsoft's authority, the user from Graph /me", () => {
    const p = azure();
    expect(p.tenant).toBe("common");
    expect(p.authorizationEndpoint).toBe(`${MICROSOFT}/common/oauth2/v2.0/authorize`);
    expect(p.tokenEndpoint).toBe(`${MICROSOFT}/common/oauth2/v2.0/token`);
    expect(p.userEndpoint).toBe("https://graph.microsoft.com/v1.0/me");
  });

  it.each([
    ["one trailing slash", "http://127.0.0.1:4000/"],
    ["several trailing slashes", "http://127.0.0.1:4000///"],
  ])("an authority with %s loses them: no empty path segment before the tenant", (_what, authority) => {
    const p = azure({ authority, tenant: "contoso.onmicrosoft.com" });
    expect(p.authorizationEndpoint).toBe("http://127.0.0.1:4000/contoso.onmicrosoft.com/oauth2/v2.0/authorize");
    expect(p.tokenEndpoint).toBe("http://127.0.0.1:4000/contoso.onmicrosoft.com/oauth2/v2.0/token");
  });

  it.each([
    ["a slash (it would rewrite the endpoint path)", "contoso/../evil"],
    ["a query", "common?x=1"],
    ["an empty string", ""],
  ])("a tenant with %s is refused with a message naming options.tenant", (_what, tenant) => {
    const attempt = () => azure({ tenant, authority: "http://127.0.0.1:4000" });
    expect(attempt).toThrow(TypeError);
    expect(attempt).toThrow(/^AzureOAuthProvider options\.tenant must be "common", "organizations", "consumers", a tenant id or a domain$/);
  });

  it("scopes and authorizationParams are passed on to the provider", () => {
    const p = azure({ scopes: ["offline_access"], authorizationParams: { prompt: "select_account" } });
    expect(p.scopes).toEqual(["offline_access"]);
    expect(p.authorizationParams).toEqual({ prompt: "select_account" });
  });
});

describe("AzureOAuthProvider OpenID Connect values", () => {
  it("Microsoft's authority and a non-GUID tenant: issuer with the {tenantid} placeholder, tenant's JWKS and logout", () => {
    const p = azure({ tenant: "contoso.onmicrosoft.com" });
    expect(p.issuer).toBe(`${MICROSOFT}/{tenantid}/v2.0`);
    expect(p.jwksUri).toBe(`${MICROSOFT}/contoso.onmicrosoft.com/discovery/v2.0/keys`);
    expect(p.endSessionEndpoint).toBe(`${MICROSOFT}/contoso.onmicrosoft.com/oauth2/v2.0/logout`);
  });

  it("the default \"common\" tenant has the {tenantid} issuer too", () => {
    const p = azure();
    expect(p.issuer).toBe(`${MICROSOFT}/{tenantid}/v2.0`);
    expect(p.jwksUri).toBe(`${MICROSOFT}/common/discovery/v2.0/keys`);
  });

  it.each([
    ["lower case", TENANT_ID],
    ["upper case", TENANT_ID.toUpperCase()],
  ])("a tenant id (GUID, %s) is the issuer's tenant", (_what, tenant) => {
    const p = azure({ tenant });
    expect(p.issuer).toBe(`${MICROSOFT}/${tenant}/v2.0`);
    expect(p.jwksUri).toBe(`${MICROSOFT}/${tenant}/discovery/v2.0/keys`);
  });

  it.each([
    ["text before it", `x${TENANT_ID}`],
    ["text after it", `${TENANT_ID}.example.com`],
    ["a longer last group", `${TENANT_ID}0`],
  ])("a tenant that only contains a GUID with %s is not a tenant id: {tenantid} issuer", (_what, tenant) => {
    expect(azure({ tenant }).issuer).toBe(`${MICROSOFT}/{tenantid}/v2.0`);
  });

  it("with an authority of its own (sovereign cloud, proxy, test) no OpenID Connect values are guessed", () => {
    const p = azure({ authority: "http://127.0.0.1:4000", tenant: TENANT_ID });
    expect(p.issuer).toBeUndefined();
    expect(p.jwksUri).toBeUndefined();
    expect(p.endSessionEndpoint).toBeUndefined();
  });

  it("oidc overrides the guessed values", () => {
    const p = azure({ tenant: TENANT_ID, oidc: { issuer: "https://issuer.example.com", jwksUri: "https://issuer.example.com/keys" } });
    expect(p.issuer).toBe("https://issuer.example.com");
    expect(p.jwksUri).toBe("https://issuer.example.com/keys");
    expect(p.endSessionEndpoint).toBe(`${MICROSOFT}/${TENANT_ID}/oauth2/v2.0/logout`);
  });
});

describe("AzureOAuthProvider option errors name the preset", () => {
  it("without options at all: the missing clientId is reported, not a TypeError from reading undefined", () => {
    expect(() => new AzureOAuthProvider(undefined as unknown as AzureOAuthProviderOptions)).toThrow(
      /^AzureOAuthProvider options\.clientId must be a non-empty string/,
    );
  });

  it("a missing clientSecret is reported as AzureOAuthProvider options.clientSecret", () => {
    expect(() => azure({ clientSecret: undefined as unknown as string })).toThrow(/^AzureOAuthProvider options\.clientSecret must be a string/);
  });
});
