/**
 * lib/signin/request-auth.ts end to end: what a request writes (nothing while it only reads; the
 * hourly `seenAt` rewrite where the record lives), and what happens to the session when sign-ins
 * are gone — timed out or expired (the sign-in leaves, the app's keys stay), ended elsewhere
 * (the whole session goes, unless another sign-in still counts).
 *
 * "store mode": the app passes a `store` (an inspectable one): the session holds the sign-in id.
 * "session mode": sessions in a store that is not MemoryStore and the default flet-auth store:
 * the session holds the sealed record. Time moves only through fletAuth's `clock`.
 */
import type { Request, Response } from "express";
import type { SessionData } from "express-session";
import request from "supertest";
import { describe, expect, it } from "vitest";
import { hkdfKey } from "../../lib/crypto/keys.js";
import { createSealer } from "../../lib/crypto/sealer.js";
import type { SignInRecord } from "../../lib/signin/records.js";
import { storeKeys } from "../../lib/store/store.js";
import { EXPRESS, SECRET, buildApp, signIn, standardProvider, type Agent, type ExpressFactory, type MeBody } from "../helpers/apps.js";
import { startFakeProvider, type FakeProvider } from "../helpers/fake-provider.js";
import { createInspectableStore, JsonSessionStore, type InspectableStore } from "../helpers/record-stores.js";
import { listen, manualClock, recordEvents, useServerLifecycle, type ManualClock, type RecordedEvents } from "../helpers/refresh-harness.js";
import { cookieValue, findSetCookie, sessionIdOf } from "../helpers/remember-cookies.js";
import { recordingLogger } from "../helpers/review-harness.js";

const SID = "flet-auth.sid";
const SIGN_IN_ID = /^[A-Za-z0-9_-]{22}$/;
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

const cleanups = useServerLifecycle();

/** JSON sessions that count their writes. */
class CountingSessions extends JsonSessionStore {
  writes = 0;

  override set(sid: string, data: SessionData, callback?: (err?: unknown) => void): void {
    this.writes += 1;
    super.set(sid, data, callback);
  }
}

/** An inspectable store that counts its writes (set, swap, delete). */
function countingStore(inner: InspectableStore): InspectableStore & { writes: number } {
  const store = {
    ...inner,
    writes: 0,
    set: (...args: Parameters<InspectableStore["set"]>) => ((store.writes += 1), inner.set(...args)),
    swap: (...args: Parameters<InspectableStore["swap"]>) => ((store.writes += 1), inner.swap(...args)),
    delete: (key: string) => ((store.writes += 1), inner.delete(key)),
  };
  return store;
}

type Mode = "store" | "session";

interface World {
  readonly fake: FakeProvider;
  readonly clock: ManualClock;
  readonly sessions: CountingSessions;
  /** The app's flet-auth store (store mode only). */
  readonly store: InspectableStore & { writes: number };
  readonly events: RecordedEvents;
  agent(): Agent;
  /** A browser that sends only this raw session cookie. */
  browser(cookie: string, path: string): request.Test;
  /** Opens a sealed record with the app's secret. */
  open(sealed: string): Promise<SignInRecord>;
}

async function world(create: ExpressFactory, mode: Mode, idleTimeoutMs = DAY_MS): Promise<World> {
  const fake = await startFakeProvider();
  cleanups.push(() => fake.close());
  const clock = manualClock();
  const sessions = new CountingSessions();
  const store = countingStore(createInspectableStore(clock.fn));
  const { app, auth } = buildApp(create, {
    providers: { demo: standardProvider(fake), other: standardProvider(fake) },
    clock: clock.fn,
    logger: recordingLogger(),
    idleTimeoutMs,
    session: { store: sessions },
    ...(mode === "store" ? { store } : {}),
  });
  // The app's own session key.
  app.post("/cart", (req: Request, res: Response) => {
    (req.session as unknown as Record<string, unknown>)["cart"] = "app-cart";
    res.json({ ok: true });
  });
  app.get("/cart", (req: Request, res: Response) => {
    res.json({ cart: (req.session as unknown as Record<string, unknown> | undefined)?.["cart"] ?? null });
  });
  const server = await listen(app);
  cleanups.push(() => server.close());
  const sealer = createSealer(SECRET, "session-token", { now: clock.fn, derive: hkdfKey });
  return {
    fake,
    clock,
    sessions,
    store,
    events: recordEvents(auth),
    agent: () => request.agent(server.server),
    browser: (cookie, path) => request(server.server).get(path).set("Cookie", `${SID}=${cookie}`),
    async open(sealed) {
      const text = await sealer.open(sealed);
      expect(text, "the sealed record opens with the app's secret").toBeDefined();
      return JSON.parse(text!) as SignInRecord;
    },
  };
}

/** Signs a new browser in with `providers` in turn; returns it and its session id. */
async function signedIn(w: World, providers: readonly string[] = ["demo"]): Promise<{ agent: Agent; sid: string; cookie: string }> {
  const agent = w.agent();
  let sid = "";
  let cookie = "";
  for (const name of providers) {
    const done = await signIn(agent, w.fake, `/login/${name}`);
    expect(done.status, done.text).toBe(303);
    const line = findSetCookie(done, SID);
    expect(line, "the callback sets the session cookie").toBeDefined();
    cookie = cookieValue(line!);
    sid = sessionIdOf(cookie);
  }
  expect((await agent.post("/cart")).status).toBe(200);
  return { agent, sid, cookie };
}

async function me(agent: Agent): Promise<MeBody> {
  const res = await agent.get("/me");
  expect(res.status, res.text).toBe(200);
  return res.body as MeBody;
}

async function cart(agent: Agent): Promise<unknown> {
  return ((await agent.get("/cart")).body as { cart: unknown }).cart;
}

function entryOf(w: World, sid: string, name = "demo"): string | undefined {
  return w.sessions.read(sid).fletAuth?.auths?.[name] as string | undefined;
}

describe.each(EXPRESS)("request auth: what a request writes and what leaves the session ($name)", ({ create }) => {
  it("a visitor with no sign-in (anonymous, or a login pending at the provider): its requests write no session", async () => {
    const w = await world(create, "session");
    const agent = w.agent();
    // An app route, and flet-auth's status route (which reads the sign-ins).
    for (const path of ["/me", "/flet-auth/status"]) {
      const anonymous = await agent.get(path);
      expect(anonymous.status, anonymous.text).toBe(200);
      expect((anonymous.body as MeBody).signedIn).toBe(false);
      expect(findSetCookie(anonymous, SID), `no session cookie for an anonymous visitor (${path})`).toBeUndefined();
    }
    expect(w.sessions.sessions.size).toBe(0);
    expect(w.sessions.writes).toBe(0);

    expect((await agent.get("/login/demo")).status).toBe(302);
    expect(w.sessions.sessions.size, "the pending login is in a session").toBe(1);
    const [sid, pending] = [...w.sessions.sessions][0]!;
    const writes = w.sessions.writes;
    for (let i = 0; i < 2; i += 1) expect((await me(agent)).signedIn).toBe(false);
    expect(w.sessions.writes, "no session write").toBe(writes);
    expect(w.sessions.sessions.get(sid)).toBe(pending);
  });

  describe.each(["store", "session"] as const)("%s mode", (mode) => {
    it("requests that only read, within seenAt's rewrite interval, write neither the session nor the store", async () => {
      const w = await world(create, mode);
      const { agent, sid } = await signedIn(w, ["demo", "other"]);
      const before = { session: w.sessions.read(sid), sessionWrites: w.sessions.writes, storeWrites: w.store.writes };
      for (let i = 0; i < 3; i += 1) {
        w.clock.advanceSeconds(15 * 60);
        expect(await me(agent)).toMatchObject({ signedIn: true, providers: ["demo", "other"] });
      }
      expect(w.sessions.writes, "no session write").toBe(before.sessionWrites);
      expect(w.sessions.read(sid)).toEqual(before.session);
      expect(w.store.writes, "no store write").toBe(before.storeWrites);
    });

    it("past the interval, one request rewrites seenAt where the record lives, and activity keeps the sign-in alive", async () => {
      const idle = 2 * HOUR_MS;
      const w = await world(create, mode, idle);
      const { agent, sid } = await signedIn(w);
      const first = entryOf(w, sid)!;
      const sealedIn = async (entry: string): Promise<string> =>
        mode === "store" ? w.store.entries().get(storeKeys.signIn(entry))! : entry;
      const signedInAt = (await w.open(await sealedIn(first))).signedInAt;

      for (let i = 1; i <= 4; i += 1) {
        w.clock.set(w.clock.now() + idle / 2);
        expect((await me(agent)).signedIn, `after ${i} × idle/2`).toBe(true);
        const entry = entryOf(w, sid)!;
        if (mode === "store") expect(entry, "the session still holds the sign-in id").toBe(first);
        else expect(entry, "the session holds a sealed record").not.toMatch(SIGN_IN_ID);
        expect(await w.open(await sealedIn(entry)), "seenAt rewritten where the record lives").toMatchObject({ seenAt: w.clock.now(), signedInAt });
      }
      expect(w.events.logout).toEqual([]);
      expect(await cart(agent)).toBe("app-cart");
    });

    it("an idle-timed-out sign-in leaves the session on its first request (one logout event); the app's keys stay", async () => {
      const w = await world(create, mode, 2 * HOUR_MS);
      const { agent, sid } = await signedIn(w);
      w.clock.advanceSeconds(2 * 3600);
      expect((await me(agent)).signedIn).toBe(false);
      expect(entryOf(w, sid), "the sign-in left the session").toBeUndefined();
      expect((await me(agent)).signedIn).toBe(false);
      expect(w.events.logout).toEqual([{ provider: "demo", reason: "idle_timeout" }]);
      expect(await cart(agent)).toBe("app-cart");
    });
  });

  describe("store mode: records gone from the store", () => {
    it("a record that left the store without an ended marker (expired) reads signed out, leaves the session, no logout event; the app's keys stay", async () => {
      const w = await world(create, "store");
      const { agent, sid } = await signedIn(w);
      const id = entryOf(w, sid)!;
      expect(id).toMatch(SIGN_IN_ID);
      await w.store.delete(storeKeys.signIn(id));
      expect((await me(agent)).signedIn).toBe(false);
      expect(entryOf(w, sid)).toBeUndefined();
      expect(w.events.logout).toEqual([]);
      expect(await cart(agent)).toBe("app-cart");
    });

    it("a copy of a session whose sign-in was logged out (record removed, marked ended) reads signed out, and none of it survives: the app's keys go too", async () => {
      const w = await world(create, "store");
      const { agent, sid, cookie } = await signedIn(w);
      const id = entryOf(w, sid)!;
      const copy = w.sessions.read(sid);
      expect((await agent.post("/logout").set("Accept", "application/json")).status).toBe(200);
      expect(w.store.entries().has(storeKeys.signIn(id)), "the logout removed the record").toBe(false);
      expect(w.store.entries().has(storeKeys.endedSignIn(id))).toBe(true);
      // A lagging replica or a restored backup brings the session back under its old id.
      w.sessions.write(sid, copy);
      const res = await w.browser(cookie, "/cart");
      expect(res.status, res.text).toBe(200);
      expect(res.body).toEqual({ cart: null });
      expect(((await w.browser(cookie, "/me")).body as MeBody).signedIn).toBe(false);
      expect(w.events.logout, "the logout's own event; the gone record has nothing to announce").toEqual([{ provider: "demo", reason: "logout" }]);
    });

    it("two sign-ins, one ended elsewhere: the other stays signed in, and the app's keys stay", async () => {
      const w = await world(create, "store");
      const { agent, sid } = await signedIn(w, ["demo", "other"]);
      await w.store.set(storeKeys.endedSignIn(entryOf(w, sid, "demo")!), "1", DAY_MS);
      expect(await me(agent)).toMatchObject({ signedIn: true, provider: "other", providers: ["other"] });
      expect(w.events.logout).toEqual([{ provider: "demo", reason: "ended" }]);
      expect(Object.keys(w.sessions.read(sid).fletAuth?.auths ?? {})).toEqual(["other"]);
      expect(await cart(agent)).toBe("app-cart");
    });

    it("every sign-in gone, one of them ended elsewhere (the other expired): the whole session goes, the app's keys too", async () => {
      const w = await world(create, "store");
      const { agent, sid } = await signedIn(w, ["demo", "other"]);
      await w.store.set(storeKeys.endedSignIn(entryOf(w, sid, "demo")!), "1", DAY_MS);
      await w.store.delete(storeKeys.signIn(entryOf(w, sid, "other")!));
      expect(await me(agent)).toMatchObject({ signedIn: false, providers: [] });
      expect(await cart(agent)).toBeNull();
    });
  });
});
