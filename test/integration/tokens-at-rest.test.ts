/**
 * Tokens at rest: the tokens flet-auth keeps in the session store are sealed with a key derived
 * once from `secret` (a string or a list for rotation: seal with the first, open with any). A
 * session entry whose token no longer opens — secret rotated out, store tampered with — counts
 * as signed out and is dropped from the session; never a 500.
 *
 * Every app here gets an explicit express-session MemoryStore through `session: { store }`, so
 * the test can read and damage exactly what is at rest.
 */
import session from "express-session";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXPRESS, buildApp, signIn, standardProvider, type ExpressFactory, type Agent, type MeBody } from "../helpers/apps.js";
import { startFakeProvider, type FakeProvider } from "../helpers/fake-provider.js";
import { manualClock, type ManualClock } from "../helpers/refresh-harness.js";
import { cookieHeader, cookieValue, findSetCookie, sessionIdOf, signSessionId } from "../helpers/remember-cookies.js";

const OLD = "old-session-secret-0123456789abcdef0123";
const NEW = "new-session-secret-0123456789abcdef0123";
const SID = "flet-auth.sid";
const PAST_EXPIRY_S = 2 * 3600;



/** A signed-in provider's entry: the whole sign-in record, sealed (a Fernet token). */
type StoredEntry = unknown;

interface SessionRecord {
  cookie: unknown;
  fletAuth?: { auths?: Record<string, StoredEntry>; current?: string };
  [k: string]: unknown;
}

/** MemoryStore keeps each session as a JSON string in `sessions` (express-session's own layout). */
function rawSessions(store: session.MemoryStore): Record<string, string> {
  return (store as unknown as { sessions: Record<string, string> }).sessions;
}

function readSession(store: session.MemoryStore, sid: string): SessionRecord {
  const raw = rawSessions(store)[sid];
  if (raw === undefined) throw new Error(`no session ${sid} in the store`);
  return JSON.parse(raw) as SessionRecord;
}

function writeSession(store: session.MemoryStore, sid: string, data: SessionRecord): void {
  rawSessions(store)[sid] = JSON.stringify(data);
}

let fake: FakeProvider;
beforeAll(async () => {
  fake = await startFakeProvider();
});
afterAll(() => fake.close());

describe.each(EXPRESS)("tokens at rest ($name)", ({ create }) => {
  function makeApp(store: session.MemoryStore, secret: string | string[], clock: ManualClock) {
    return buildApp(create as ExpressFactory, {
      providers: { idp: standardProvider(fake) },
      secret,
      session: { store },
      clock: clock.fn,
    }).app;
  }

  /** Signs in on `app`; returns the agent, the raw session cookie, the session id and the tokens the app hands out. */
  async function signedIn(app: ReturnType<typeof makeApp>): Promise<{ agent: Agent; cookie: string; sid: string; accessToken: string; refreshToken: string }> {
    const agent = request.agent(app);
    const done = await signIn(agent, fake, "/login/idp");
    expect(done.status, done.text).toBeLessThan(400);
    const line = findSetCookie(done, SID);
    expect(line).toBeDefined();
    const cookie = cookieValue(line!);
    const token = (await agent.get("/token")).body as { accessToken: string; refreshToken: string };
    expect(token.accessToken).toEqual(expect.any(String));
    expect(token.refreshToken).toEqual(expect.any(String));
    return { agent, cookie, sid: sessionIdOf(cookie), ...token };
  }

  it("the store holds neither the tokens nor the user, before or after a refresh (the whole sign-in is sealed)", async () => {
    const store = new session.MemoryStore();
    const clock = manualClock();
    const app = makeApp(store, OLD, clock);
    const { agent, sid, accessToken, refreshToken } = await signedIn(app);

    const everything = JSON.stringify(rawSessions(store));
    // It is the right store: the signed-in entry is there, with its user.
    expect(Object.keys(rawSessions(store))).toContain(sid);
    const entry = readSession(store, sid).fletAuth?.auths?.["idp"];
    expect(typeof entry).toBe("string");
    expect((await agent.get("/me")).body).toMatchObject({ signedIn: true, user: { login: "octocat" } });
    // Nothing of the sign-in is readable: the user's details are sealed with the tokens.
    expect(everything).not.toContain("octocat");
    expect(everything).not.toContain(accessToken);
    expect(everything).not.toContain(refreshToken);
    expect(everything).not.toMatch(/access_token|refresh_token/);

    clock.advanceSeconds(PAST_EXPIRY_S);
    const refreshed = (await agent.get("/token")).body as { accessToken: string; refreshToken: string };
    expect(refreshed.accessToken).not.toBe(accessToken);
    const after = JSON.stringify(rawSessions(store));
    expect(readSession(store, sid).fletAuth?.auths?.["idp"]).not.toBe(entry);
    for (const secret of [accessToken, refreshToken, refreshed.accessToken, refreshed.refreshToken]) {
      expect(after).not.toContain(secret);
    }
  });

  it("secret: [new, old] reads sessions written with old, and re-seals refreshed tokens with new", async () => {
    const store = new session.MemoryStore();
    const clock = manualClock();
    const oldApp = makeApp(store, OLD, clock);
    const rotated = makeApp(store, [NEW, OLD], clock);
    const newOnly = makeApp(store, NEW, clock);
    const { cookie, sid, accessToken } = await signedIn(oldApp);

    // Same cookie, same store, rotated app: still signed in, with the same token.
    const jar = cookieHeader({ [SID]: cookie });
    const me = await request(rotated).get("/me").set("Cookie", jar);
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ signedIn: true, provider: "idp", user: { id: "1001" } });
    const token = (await request(rotated).get("/token").set("Cookie", jar)).body as { accessToken: string };
    expect(token.accessToken).toBe(accessToken);

    // A refresh on the rotated app stores the new token sealed with the new secret…
    clock.advanceSeconds(PAST_EXPIRY_S);
    const refreshed = await request(rotated).get("/token").set("Cookie", jar);
    expect(refreshed.status).toBe(200);
    expect(readSession(store, sid).fletAuth?.auths?.["idp"]).toBeDefined();
    // …which an app that knows only the new secret opens (its session cookie signed with new).
    const newJar = cookieHeader({ [SID]: signSessionId(sid, NEW) });
    const seen = await request(newOnly).get("/me").set("Cookie", newJar);
    expect(seen.body).toMatchObject({ signedIn: true, user: { id: "1001" } });
  });

  it("an app whose secrets no longer include old sees the session as signed out and drops the entry", async () => {
    const store = new session.MemoryStore();
    const clock = manualClock();
    const oldApp = makeApp(store, OLD, clock);
    const newOnly = makeApp(store, NEW, clock);
    const { sid } = await signedIn(oldApp);
    expect(readSession(store, sid).fletAuth?.auths?.["idp"]).toBeDefined();

    // The session cookie is valid for the new app (signed with its secret); only the token is old.
    const jar = cookieHeader({ [SID]: signSessionId(sid, NEW) });
    const res = await request(newOnly).get("/me").set("Cookie", jar);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ signedIn: false, provider: null });
    expect(readSession(store, sid).fletAuth?.auths?.["idp"], "the unreadable authorization is dropped").toBeUndefined();
    const token = await request(newOnly).get("/token").set("Cookie", jar);
    expect(token.status).toBe(401);
  });

  type Damage = [string, (entry: string) => unknown];
  const damages: Damage[] = [
    [
      "a flipped character",
      (t) => {
        const i = Math.floor(t.length / 2);
        return `${t.slice(0, i)}${t[i] === "A" ? "B" : "A"}${t.slice(i + 1)}`;
      },
    ],
    ["truncated", (t) => t.slice(0, -10)],
    ["empty", () => ""],
    ["plain JSON token (unsealed)", () => JSON.stringify({ access_token: "planted" })],
  ];

  it.each(damages)("a corrupted sealed token in the store (%s) → signed out, not 500", async (_name, damage) => {
    const store = new session.MemoryStore();
    const clock = manualClock();
    const app = makeApp(store, OLD, clock);
    const { agent, sid } = await signedIn(app);
    const record = readSession(store, sid);
    record.fletAuth!.auths!["idp"] = damage(String(record.fletAuth!.auths!["idp"]));
    writeSession(store, sid, record);

    const res = await agent.get("/me");
    expect(res.status).toBe(200);
    expect((res.body as MeBody).signedIn).toBe(false);
    expect(readSession(store, sid).fletAuth?.auths?.["idp"]).toBeUndefined();
    const token = await agent.get("/token");
    expect(token.status).toBe(401);
  });

  type Malformed = [string, (record: SessionRecord) => void];
  const malformed: Malformed[] = [
    ["entry a number", (r) => void (r.fletAuth!.auths!["idp"] = 12345)],
    ["entry an unsealed record", (r) => void (r.fletAuth!.auths!["idp"] = { token: JSON.stringify({ access_token: "planted" }), user: { id: "admin", groups: [] } })],
    ["entry missing", (r) => void delete r.fletAuth!.auths!["idp"]],
    ["entry null", (r) => void (r.fletAuth!.auths!["idp"] = null)],
    ["entry a string", (r) => void ((r.fletAuth!.auths as Record<string, unknown>)["idp"] = "gAAAAA")],
    ["auths not an object", (r) => void ((r.fletAuth as Record<string, unknown>)["auths"] = "idp")],
    ["fletAuth not an object", (r) => void (r.fletAuth = 42 as unknown as SessionRecord["fletAuth"])],
  ];

  // Not a sealed token at all: whatever the store holds, the visitor is signed out — never a 500.
  it.each(malformed)("a malformed session entry (%s) → signed out, not 500", async (_name, damage) => {
    const store = new session.MemoryStore();
    const clock = manualClock();
    const app = makeApp(store, OLD, clock);
    const { agent, sid } = await signedIn(app);
    const record = readSession(store, sid);
    damage(record);
    writeSession(store, sid, record);

    const res = await agent.get("/me");
    expect(res.status).toBe(200);
    expect((res.body as MeBody).signedIn).toBe(false);
    const token = await agent.get("/token");
    expect(token.status).toBe(401);
    // And the browser can sign in again on the same session cookie.
    await signIn(agent, fake, "/login/idp");
    expect(((await agent.get("/me")).body as MeBody).signedIn).toBe(true);
  });
});
