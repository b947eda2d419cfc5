/**
 * RFC 9207 mix-up defence: with `issuer` set, a callback whose `iss` differs (or, with
 * `requireIssuer`, that has none) fails before any token request.
 */
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeProvider, type FakeProvider } from "../helpers/fake-provider.js";
import { EXPRESS, buildApp, pathOf, standardProvider } from "../helpers/apps.js";
import { OAuthProvider } from "../../lib/index.js";

describe.each(EXPRESS)("issuer check ($name)", ({ create }) => {
  let fake: FakeProvider;
  beforeAll(async () => {
    fake = await startFakeProvider();
  });
  afterAll(() => fake.close());

  async function callbackWith(options: { requireIssuer?: boolean }, iss: string | undefined, deny = false) {
    const provider = standardProvider(fake, { issuer: fake.url, ...options });
    const { app, auth } = buildApp(create, { providers: { demo: provider } });
    const errors: Array<string | undefined> = [];
    auth.on("login", (e) => void errors.push(e.error));
    const agent = request.agent(app);
    const start = await agent.get("/login/demo");
    const callback = new URL(await fake.authorize(start.headers["location"] as string, { deny }));
    if (iss !== undefined) callback.searchParams.set("iss", iss);
    const exchanges = fake.count("/token", "authorization_code");
    const res = await agent.get(pathOf(callback.toString()));
    return { res, errors, exchanged: fake.count("/token", "authorization_code") - exchanges, me: (await agent.get("/me")).body };
  }

  it("accepts the provider's own iss", async () => {
    const { res, errors, exchanged } = await callbackWith({}, fake.url);
    expect(res.status).toBe(303);
    expect(errors).toEqual([undefined]);
    expect(exchanged).toBe(1);
  });

  it("rejects another issuer's iss with 400 issuer_mismatch and no token request", async () => {
    const { res, errors, exchanged, me } = await callbackWith({}, "https://attacker.example");
    expect(res.status).toBe(400);
    expect(res.text).not.toContain("Signed in successfully");
    expect(errors).toEqual(["issuer_mismatch"]);
    expect(exchanged).toBe(0);
    expect(me.signedIn).toBe(false);
  });

  it("accepts a missing iss unless requireIssuer is set", async () => {
    expect((await callbackWith({}, undefined)).res.status).toBe(303);
    const required = await callbackWith({ requireIssuer: true }, undefined);
    expect(required.res.status).toBe(400);
    expect(required.errors).toEqual(["issuer_mismatch"]);
    expect(required.exchanged).toBe(0);
  });

  it("checks iss on error responses too (RFC 9207 §2.4)", async () => {
    const forged = await callbackWith({}, "https://attacker.example", true);
    expect(forged.errors).toEqual(["issuer_mismatch"]);
    const genuine = await callbackWith({}, fake.url, true);
    expect(genuine.errors).toEqual(["access_denied"]);
  });
});

describe("issuer options", () => {
  const base = {
    clientId: "c",
    clientSecret: "s",
    authorizationEndpoint: "https://idp.example/authorize",
    tokenEndpoint: "https://idp.example/token",
    redirectUrl: "https://app.example/oauth_callback",
  };
  it("requireIssuer without issuer is a TypeError naming both options", () => {
    expect(() => new OAuthProvider({ ...base, requireIssuer: true })).toThrow(/requireIssuer needs .*issuer/);
  });
  it("issuer must be an https URL", () => {
    expect(() => new OAuthProvider({ ...base, issuer: "http://idp.example" })).toThrow(TypeError);
  });
});
