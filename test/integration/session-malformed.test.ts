/**
 * flet-auth's part of a session that a store hands back malformed (written by hand, by an older
 * version, or by another app sharing the store): a sign-in entry that is not an id is ignored —
 * the visitor keeps the well-formed sign-ins and gets no 500 — and the malformed entry does not
 * survive the next write of flet-auth's data (lib/session/session.ts, authData).
 */
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXPRESS } from "../helpers/apps.js";
import { startFakeProvider, type FakeProvider } from "../helpers/fake-provider.js";
import { twoProviderApp, cookieNamed, relative, sessionIdOf, startLogin, storeGet, storeSet, type Client } from "../helpers/security-helpers.js";

const SID = "flet-auth.sid";

describe.each(EXPRESS)("malformed flet-auth data in the session ($name)", ({ create }) => {
  let fake: FakeProvider;

  beforeAll(async () => {
    fake = await startFakeProvider();
  });
  afterAll(() => fake.close());

  function setup() {
    const { store, ...built } = twoProviderApp(create, fake);
    return { ...built, store, agent: request.agent(built.app) };
  }

  /** Signs in with `name`; returns the id of the session the sign-in left. */
  async function signInWith(agent: Client, name: string): Promise<string> {
    const started = await startLogin(agent, `/login/${name}`);
    const callback = await agent.get(relative(await fake.authorize(started.authorizeUrl.toString())));
    expect(callback.status).toBe(200);
    const cookie = cookieNamed(callback, SID);
    expect(cookie, "the sign-in gives a new session cookie").toBeDefined();
    return sessionIdOf(cookie!.value);
  }

  it("a configured provider's sign-in entry that is not an id: that provider is signed out, the others still signed in, no 500", async () => {
    const { agent, store, errors } = setup();
    const sid = await signInWith(agent, "demo");
    const stored = await storeGet(store, sid);
    const fletAuth = stored!.fletAuth!;
    await storeSet(store, sid, { ...stored!, fletAuth: { ...fletAuth, auths: { ...fletAuth.auths, other: { id: 42 } as never } } });

    const me = await agent.get("/me");
    expect(me.status).toBe(200);
    expect(me.body).toEqual({ signedIn: true, provider: "demo", providers: ["demo"] });
    expect(errors).toEqual([]);
  });

  it("a malformed sign-in entry, even of a provider this instance does not configure, is gone after flet-auth next writes its data", async () => {
    const { agent, store } = setup();
    const sid = await signInWith(agent, "demo");
    const stored = await storeGet(store, sid);
    const fletAuth = stored!.fletAuth!;
    await storeSet(store, sid, { ...stored!, fletAuth: { ...fletAuth, auths: { ...fletAuth.auths, elsewhere: 42 as never } } });

    // Starting a login writes flet-auth's data (the pending login) before redirecting.
    await startLogin(agent, "/login/demo");
    const after = await storeGet(store, sid);
    expect(after?.fletAuth?.tx, "the pending login was written").toBeDefined();
    expect(after?.fletAuth?.auths).toEqual({ demo: fletAuth.auths!["demo"] });
  });

  it("a sign-in table that is not an object is gone after flet-auth next writes its data", async () => {
    const { agent, store } = setup();
    const sid = await signInWith(agent, "demo");
    const stored = await storeGet(store, sid);
    await storeSet(store, sid, { ...stored!, fletAuth: { ...stored!.fletAuth, auths: "demo" as never } });

    expect((await agent.get("/me")).body).toEqual({ signedIn: false, provider: null, providers: [] });
    await startLogin(agent, "/login/demo");
    const after = await storeGet(store, sid);
    expect(after?.fletAuth?.tx, "the pending login was written").toBeDefined();
    expect(after?.fletAuth).not.toHaveProperty("auths");
  });

  it("an unknown key beside well-formed data: req.auth is still the provider signed in last", async () => {
    const { agent, store } = setup();
    await signInWith(agent, "demo");
    await signInWith(agent, "other");
    const sid = await signInWith(agent, "demo"); // signed in before: "demo" is not the last of the table
    const stored = await storeGet(store, sid);
    await storeSet(store, sid, { ...stored!, fletAuth: { ...stored!.fletAuth, leftover: "from an older version" } as never });

    const me = await agent.get("/me");
    expect(me.status).toBe(200);
    expect(me.body).toEqual({ signedIn: true, provider: "demo", providers: ["demo", "other"] });
  });

  it("an unknown key beside a pending login: the login still completes", async () => {
    const { agent, store, errors } = setup();
    const started = await startLogin(agent, "/login/demo");
    const callback = relative(await fake.authorize(started.authorizeUrl.toString()));
    const sid = sessionIdOf(cookieNamed(started.res, SID)?.value ?? "");
    const stored = await storeGet(store, sid);
    expect(Object.keys(stored?.fletAuth?.tx ?? {}), "one pending login").toHaveLength(1);
    await storeSet(store, sid, { ...stored!, fletAuth: { ...stored!.fletAuth, leftover: "from an older version" } as never });

    expect((await agent.get(callback)).status).toBe(200);
    expect((await agent.get("/me")).body).toEqual({ signedIn: true, provider: "demo", providers: ["demo"] });
    expect(errors).toEqual([]);
  });
});
