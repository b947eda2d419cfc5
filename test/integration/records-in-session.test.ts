/**
 * Where a sign-in's sealed record lives (lib/signin/stored.ts), end to end:
 *
 * - session mode: sessions in a persistent or shared store (here one that is not express-session's
 *   MemoryStore) and the default in-memory flet-auth store. The record stays in the session; a
 *   refresh rewrites it there and leaves the newest token under `latest:<id>`, from which a stale
 *   copy of the session heals; a logout marks the sign-in `ended:` so an old copy reads signed out.
 * - store mode: a `store` the app passes, or MemoryStore sessions. The session holds only the
 *   22-character sign-in id, so it stays small; the record is in the store under `signin:<id>`.
 *
 * The default flet-auth store is swapped here for an inspectable one of the same interface (its
 * factory, lib/store/memory.ts, is mocked), so the tests can see what flet-auth keeps in it. Time
 * moves only through fletAuth's `clock`; a refresh is held in flight with the token gate and a
 * slow request with explicit gates, never with sleeps.
 */
import type { Request, Response } from "express";
import session from "express-session";
import request from "supertest";
import { describe, expect, it, vi } from "vitest";
import { hkdfKey } from "../../lib/crypto/keys.js";
import { createSealer } from "../../lib/crypto/sealer.js";
import type { FletAuthMiddleware } from "../../lib/index.js";
import type { SignInRecord } from "../../lib/signin/records.js";
import type { MemoryStoreOptions } from "../../lib/store/memory.js";
import { EXPRESS, SECRET, buildApp, signIn, standardProvider, type Agent, type ExpressFactory, type MeBody } from "../helpers/apps.js";
import { startFakeProvider, type FakeProvider, type FakeProviderOptions } from "../helpers/fake-provider.js";
import { createInspectableStore, holdingReads, JsonSessionStore, type HeldRead, type InspectableStore } from "../helpers/record-stores.js";
import {
  addStoredTokenRoute,
  listen,
  manualClock,
  recordEvents,
  useServerLifecycle,
  type ManualClock,
  type RecordedEvents,
  type StoredToken,
} from "../helpers/refresh-harness.js";
import { cookieHeader, cookieValue, findSetCookie, sessionIdOf } from "../helpers/remember-cookies.js";
import { gate, recordingLogger, type Gate } from "../helpers/review-harness.js";
import { startTokenGate, type TokenGate } from "../helpers/token-gate.js";

/** Every flet-auth default store created in this file (one per fletAuth() without `store`). */
const defaultStores = vi.hoisted(() => [] as InspectableStore[]);
vi.mock("../../lib/store/memory.js", async () => {
  const { createInspectableStore: inspectable } = await import("../helpers/record-stores.js");
  return {
    createMemoryStore(options: MemoryStoreOptions = {}) {
      const store = inspectable(options.clock ?? Date.now);
      defaultStores.push(store);
      return store;
    },
  };
});

const SID = "flet-auth.sid";
const SIGN_IN_ID = /^[A-Za-z0-9_-]{22}$/;
const DAY_MS = 86_400_000;
/** A profile that makes the sealed record a few KiB, as OpenID Connect JWTs do. */
const BIG_USER = { id: 4242, login: "big-user-login", name: "Big User", email: "big@example.org", bio: "b".repeat(1500) };

const cleanups = useServerLifecycle();

interface WorldOptions {
  /** The express-session store. */
  readonly sessionStore: session.Store;
  /** "given": the app passes an inspectable `store`; "default": flet-auth's own. */
  readonly store: "given" | "default";
  readonly fake?: FakeProviderOptions;
  /** Put the token gate in front of the token endpoint (to hold a refresh in flight). */
  readonly gate?: boolean;
}

interface World {
  readonly fake: FakeProvider;
  readonly gate: TokenGate | undefined;
  readonly clock: ManualClock;
  readonly auth: FletAuthMiddleware;
  readonly events: RecordedEvents;
  /** The flet-auth store the app uses: the one it was given, or its default. */
  readonly store: InspectableStore;
  /** Holds the next read of the given store whose keys match (store: "given" only). */
  holdNextRead(matches: (keys: readonly string[]) => boolean): HeldRead;
  /** `GET /slow` loads the session, opens `entered`, waits for `release`, then changes and writes it back. */
  readonly slow: { readonly entered: Gate; readonly release: Gate };
  agent(): Agent;
  /** A browser that sends exactly these cookies (raw values, as Set-Cookie gave them). */
  browser(cookies: Readonly<Record<string, string>>, path?: string): request.Test;
  /** Opens a sealed record with the app's secret. */
  open(sealed: string): Promise<SignInRecord>;
}

async function world(create: ExpressFactory, options: WorldOptions): Promise<World> {
  const fake = await startFakeProvider(options.fake);
  cleanups.push(() => fake.close());
  let tokenGate: TokenGate | undefined;
  if (options.gate === true) {
    tokenGate = await startTokenGate(fake);
    cleanups.push(() => tokenGate!.close());
  }
  const clock = manualClock();
  const given = options.store === "given" ? holdingReads(createInspectableStore(clock.fn)) : undefined;
  const before = defaultStores.length;
  const { app, auth } = buildApp(create, {
    providers: { demo: standardProvider(fake, tokenGate === undefined ? {} : { tokenEndpoint: tokenGate.tokenEndpoint }) },
    clock: clock.fn,
    logger: recordingLogger(),
    session: { store: options.sessionStore },
    ...(given !== undefined ? { store: given } : {}),
  });
  const store = given ?? defaultStores[before];
  expect(store, "the app's flet-auth store").toBeDefined();
  addStoredTokenRoute(app);
  const slow = { entered: gate(), release: gate() };
  // An ordinary app route: its session copy is loaded before whatever the test does meanwhile,
  // and written back whole (express-session saves the session it loaded) when it is released.
  app.get("/slow", async (req: Request, res: Response) => {
    slow.entered.open();
    await slow.release.promise;
    (req.session as unknown as Record<string, unknown>)["visits"] = 1;
    res.json({ ok: true });
  });
  const server = await listen(app);
  cleanups.push(() => server.close());
  const sealer = createSealer(SECRET, "session-token", { now: clock.fn, derive: hkdfKey });
  return {
    fake,
    gate: tokenGate,
    clock,
    auth,
    events: recordEvents(auth),
    store: store!,
    holdNextRead(matches) {
      if (given === undefined) throw new Error("holdNextRead needs store: \"given\"");
      return given.holdNextRead(matches);
    },
    slow,
    agent: () => request.agent(server.server),
    browser: (cookies, path = "/me") => request(server.server).get(path).set("Cookie", cookieHeader(cookies)),
    async open(sealed) {
      const text = await sealer.open(sealed);
      expect(text, "the sealed record opens with the app's secret").toBeDefined();
      return JSON.parse(text!) as SignInRecord;
    },
  };
}

/** Signs a new browser in; returns it, its raw session cookie and its session id. */
async function signedIn(w: World): Promise<{ agent: Agent; cookie: string; sid: string }> {
  const agent = w.agent();
  const done = await signIn(agent, w.fake, "/login/demo");
  expect(done.status, done.text).toBe(303);
  const line = findSetCookie(done, SID);
  expect(line, "the callback sets the session cookie").toBeDefined();
  const cookie = cookieValue(line!);
  return { agent, cookie, sid: sessionIdOf(cookie) };
}

async function me(test: request.Test): Promise<MeBody> {
  const res = await test;
  expect(res.status, res.text).toBe(200);
  return res.body as MeBody;
}

async function stored(agent: Agent): Promise<NonNullable<StoredToken>> {
  const body = (await agent.get("/stored-token").expect(200)).body as StoredToken;
  expect(body, "signed in with a stored token").not.toBeNull();
  return body!;
}

interface TokenBody {
  accessToken: string;
  refreshToken: string | null;
  expiresAt: number;
}

/** `GET /token` (getToken(), refreshing when due), which must succeed. */
async function token(agent: Agent): Promise<TokenBody> {
  const res = await agent.get("/token");
  expect(res.status, res.text).toBe(200);
  return res.body as TokenBody;
}

/** What the session `sid` holds for provider "demo". */
function sessionEntry(store: JsonSessionStore, sid: string): unknown {
  return store.read(sid).fletAuth?.auths?.["demo"];
}

function keysOf(store: InspectableStore, prefix: string): string[] {
  return [...store.entries().keys()].filter((k) => k.startsWith(prefix));
}

/** The refresh tokens the provider was sent, in order. */
function refreshTokensSent(fake: FakeProvider): string[] {
  return fake.requests.filter((r) => r.path === "/token" && r.form["grant_type"] === "refresh_token").map((r) => r.form["refresh_token"] ?? "");
}

describe.each(EXPRESS)("where sign-in records live ($name)", ({ create }) => {
  describe("session mode: a session store that is not MemoryStore, and the default flet-auth store", () => {
    it("sign-in keeps the sealed record in the session (not an id); the flet-auth store holds no record", async () => {
      const sessions = new JsonSessionStore();
      const w = await world(create, { sessionStore: sessions, store: "default" });
      const { agent, sid } = await signedIn(w);
      const first = await stored(agent);

      const entry = sessionEntry(sessions, sid);
      expect(typeof entry).toBe("string");
      expect(entry, "a sealed record, not a sign-in id").not.toMatch(SIGN_IN_ID);
      const record = await w.open(entry as string);
      expect(record).toMatchObject({ provider: "demo", refreshes: 0, user: { id: "1001" } });
      expect(record.id).toMatch(SIGN_IN_ID);
      expect(JSON.parse(record.token)).toMatchObject({ access_token: first.access_token, refresh_token: first.refresh_token });
      expect(keysOf(w.store, "signin:"), "no record in the flet-auth store").toEqual([]);
      expect(await me(agent.get("/me"))).toMatchObject({ signedIn: true, provider: "demo" });
    });

    it("a refresh rewrites the record in the session and leaves the newest token, sealed, under latest:<id>", async () => {
      const sessions = new JsonSessionStore();
      const w = await world(create, { sessionStore: sessions, store: "default" });
      const { agent, sid } = await signedIn(w);
      const first = await stored(agent);
      const before = sessionEntry(sessions, sid) as string;
      const { id } = await w.open(before);

      w.clock.setBeforeExpiry(first.expires_at!, 10);
      const refreshed = await token(agent);
      expect(refreshed.accessToken).not.toBe(first.access_token);
      expect(w.fake.count("/token", "refresh_token")).toBe(1);

      const after = sessionEntry(sessions, sid) as string;
      expect(after).not.toBe(before);
      const record = await w.open(after);
      expect(record).toMatchObject({ id, refreshes: 1 });
      expect(JSON.parse(record.token)).toMatchObject({ access_token: refreshed.accessToken, refresh_token: refreshed.refreshToken });
      const latest = w.store.entries().get(`latest:${id}`);
      expect(latest, "the newest token is in the store").toMatch(/^1\|/);
      expect(latest).not.toContain(refreshed.accessToken);
      expect(keysOf(w.store, "signin:")).toEqual([]);
    });

    it("a stale copy of the session written back after a refresh heals from latest:<id>: no spent refresh token goes to the provider twice", async () => {
      const sessions = new JsonSessionStore();
      const w = await world(create, { sessionStore: sessions, store: "default", fake: { rotateRefreshTokens: true, refreshReuseRevokesGrant: true } });
      const { agent, sid } = await signedIn(w);
      const initial = await stored(agent);
      // Due for a refresh (within the margin), but seenAt is not due: only the refresh writes the session.
      w.clock.setBeforeExpiry(initial.expires_at!, 30);

      const slow = agent.get("/slow").then((r) => r);
      await w.slow.entered.promise;
      const refreshed = await token(agent);
      expect(w.fake.count("/token", "refresh_token")).toBe(1);
      w.slow.release.open();
      expect((await slow).status).toBe(200);
      // The slow request wrote its copy back: the record from before the refresh.
      const staleRecord = await w.open(sessionEntry(sessions, sid) as string);
      expect(staleRecord.refreshes, "the session holds the stale copy").toBe(0);
      expect(JSON.parse(staleRecord.token)).toMatchObject({ refresh_token: initial.refresh_token });

      // Read again, it heals from the store's newest token (and is written back healed).
      expect((await stored(agent)).refresh_token).toBe(refreshed.refreshToken);
      const healed = await w.open(sessionEntry(sessions, sid) as string);
      expect(healed).toMatchObject({ id: staleRecord.id, refreshes: 1 });
      expect(JSON.parse(healed.token)).toMatchObject({ refresh_token: refreshed.refreshToken });

      // Past the lock's grace: the next refresh presents the live refresh token, not the spent one.
      w.clock.setBeforeExpiry(refreshed.expiresAt, 30);
      const later = await token(agent);
      expect(later.accessToken).not.toBe(refreshed.accessToken);
      expect(refreshTokensSent(w.fake)).toEqual([initial.refresh_token, refreshed.refreshToken]);
      expect(await me(agent.get("/me"))).toMatchObject({ signedIn: true, provider: "demo" });
      expect(w.events.logout).toEqual([]);
      // The grant survived at the provider.
      const userinfo = await fetch(`${w.fake.url}/userinfo`, { headers: { authorization: `Bearer ${later.accessToken}` } });
      expect(userinfo.status).toBe(200);
    });

    it("logout racing a refresh: the old session copy written back reads signed out, and a logout event with reason \"ended\" fires for it", async () => {
      const sessions = new JsonSessionStore();
      const w = await world(create, { sessionStore: sessions, store: "default", gate: true });
      const { agent, cookie: oldCookie, sid: oldSid } = await signedIn(w);
      const initial = await stored(agent);
      const { id } = await w.open(sessionEntry(sessions, oldSid) as string);
      // Past expiry and past seenAt's rewrite interval (1 h): the racing request refreshes AND
      // rewrites its (stale) session copy, as any request that touches the session would.
      w.clock.setBeforeExpiry(initial.expires_at!, -10);
      const held = w.gate!.holdNext();
      const racing = agent.get("/token").then((r) => r);
      expect((await held.arrived).grant_type, "the racing request is refreshing").toBe("refresh_token");

      const out = await agent.post("/logout").set("Accept", "application/json");
      expect(out.status).toBe(200);
      expect(out.body).toEqual({ signedIn: false });
      expect(w.events.logout).toEqual([{ provider: "demo", reason: "logout" }]);
      expect(w.store.entries().get(`ended:${id}`), "the logout marked the sign-in ended").toBeDefined();

      expect((await held.release()).status, "the provider's refresh succeeded").toBe(200);
      const late = await racing;
      // The request may use the token it waited for, but nothing of it is persisted.
      expect(late.status, late.text).toBe(200);
      expect(w.fake.count("/token", "refresh_token")).toBe(1);
      // The racing request wrote its copy back under the old session id: the record, unrefreshed.
      const copy = sessionEntry(sessions, oldSid);
      expect(typeof copy, "the stale copy (with its sealed record) is back in the session store").toBe("string");
      expect(await w.open(copy as string)).toMatchObject({ id, refreshes: 0 });

      expect((await me(w.browser({ [SID]: oldCookie }))).signedIn, "the old session cookie reads signed out").toBe(false);
      expect(w.events.logout).toEqual([
        { provider: "demo", reason: "logout" },
        { provider: "demo", reason: "ended" },
      ]);
      // Once: the copy was discarded.
      expect((await me(w.browser({ [SID]: oldCookie }))).signedIn).toBe(false);
      expect(w.events.logout).toHaveLength(2);
      expect((await me(agent.get("/me"))).signedIn, "the browser's next request is signed out").toBe(false);
      expect(w.events.refresh, "nothing was stored, so nothing was announced").toEqual([]);
    });
  });

  describe("store mode: the session holds only the sign-in id", () => {
    it("MemoryStore sessions: the session holds a 22-character id and stays under 600 bytes, however large the record", async () => {
      const memory = new session.MemoryStore();
      const w = await world(create, { sessionStore: memory, store: "default", fake: { user: BIG_USER } });
      const { agent, sid } = await signedIn(w);
      expect(await me(agent.get("/me"))).toMatchObject({ signedIn: true, user: { id: "4242", bio: BIG_USER.bio } });
      expect((await stored(agent)).refresh_token).toEqual(expect.any(String));

      const raw = (memory as unknown as { sessions: Record<string, string> }).sessions[sid];
      expect(raw).toBeDefined();
      const id = (JSON.parse(raw!) as { fletAuth: { auths: Record<string, unknown> } }).fletAuth.auths["demo"];
      expect(id).toMatch(SIGN_IN_ID);
      expect(Buffer.byteLength(raw!), raw).toBeLessThan(600);
      const record = w.store.entries().get(`signin:${id as string}`);
      expect(record, "the record is in the flet-auth store under its id").toBeDefined();
      expect(await w.open(record!)).toMatchObject({ id, provider: "demo", user: { id: "4242" } });

      // The same sign-in with its record kept in the session: that is what stays out of it.
      const sessions = new JsonSessionStore();
      const kept = await world(create, { sessionStore: sessions, store: "default", fake: { user: BIG_USER } });
      const other = await signedIn(kept);
      expect(Buffer.byteLength(sessions.sessions.get(other.sid)!)).toBeGreaterThan(2_000);
    });

    it("an app that passes store: records go there even when the session store is not MemoryStore", async () => {
      const sessions = new JsonSessionStore();
      const w = await world(create, { sessionStore: sessions, store: "given" });
      const { agent, sid } = await signedIn(w);
      const first = await stored(agent);

      const id = sessionEntry(sessions, sid);
      expect(id).toMatch(SIGN_IN_ID);
      expect(Buffer.byteLength(sessions.sessions.get(sid)!)).toBeLessThan(600);
      const key = `signin:${id as string}`;
      const sealed = w.store.entries().get(key);
      expect(sealed).toBeDefined();
      expect(await w.open(sealed!)).toMatchObject({ id, refreshes: 0 });
      // Kept for the rest of its lifetime: the idle one (1 day by default) ends first, then 7 days more.
      expect(w.store.expiresAt(key)).toBe(w.clock.now() + DAY_MS + 7 * DAY_MS);

      // A refresh stores the new record there; the session is unchanged.
      const sessionBefore = sessions.sessions.get(sid);
      w.clock.setBeforeExpiry(first.expires_at!, 10);
      const refreshed = await token(agent);
      expect(refreshed.accessToken).not.toBe(first.access_token);
      const after = w.store.entries().get(key);
      expect(after).not.toBe(sealed);
      expect(JSON.parse((await w.open(after!)).token)).toMatchObject({ access_token: refreshed.accessToken });
      expect(JSON.parse(sessions.sessions.get(sid)!)).toEqual(JSON.parse(sessionBefore!));
      expect(keysOf(w.store, "latest:"), "no latest: token for records in the store").toEqual([]);

      // Logout removes the record (its tokens leave the store) and marks the sign-in ended.
      expect((await agent.post("/logout").set("Accept", "application/json")).status).toBe(200);
      expect(w.store.entries().has(key)).toBe(false);
      expect(w.store.entries().has(`ended:${id as string}`)).toBe(true);
      expect((await me(agent.get("/me"))).signedIn).toBe(false);
    });

    it("a revoked grant removes the record from the store: every copy of the sign-in reads signed out", async () => {
      const sessions = new JsonSessionStore();
      const w = await world(create, { sessionStore: sessions, store: "given" });
      const { agent, cookie, sid } = await signedIn(w);
      const initial = await stored(agent);
      const key = `signin:${sessionEntry(sessions, sid) as string}`;
      const copy = sessions.read(sid);
      expect(w.store.entries().has(key)).toBe(true);

      w.fake.revokeAll("refresh");
      w.clock.setBeforeExpiry(initial.expires_at!, 10);
      const res = await agent.get("/token");
      expect(res.status, res.text).not.toBe(200);
      expect(w.events.logout).toEqual([{ provider: "demo", reason: "refresh_failed" }]);
      expect(w.store.entries().has(key), "the record left the store").toBe(false);
      // A copy of the session taken before (a lagging replica, a restored backup) names a sign-in that is gone.
      sessions.write(sid, copy);
      expect((await me(w.browser({ [SID]: cookie }))).signedIn).toBe(false);
    });

    it("a logout landing between a refresh's read of the record and its write: the record stays removed (its tokens leave the store)", async () => {
      const sessions = new JsonSessionStore();
      const w = await world(create, { sessionStore: sessions, store: "given", gate: true });
      const { agent, sid } = await signedIn(w);
      const initial = await stored(agent);
      const id = sessionEntry(sessions, sid) as string;
      const key = `signin:${id}`;
      w.clock.setBeforeExpiry(initial.expires_at!, 10);

      // The refresh reaches the provider; once answered, the request reads the record to store the
      // new token — and that read answers (with what it found) only after the logout below.
      const heldToken = w.gate!.holdNext();
      const racing = agent.get("/token").then((r) => r);
      expect((await heldToken.arrived).grant_type).toBe("refresh_token");
      const heldRead = w.holdNextRead((keys) => keys.includes(key));
      expect((await heldToken.release()).status).toBe(200);
      await heldRead.arrived;

      const out = await agent.post("/logout").set("Accept", "application/json");
      expect(out.body).toEqual({ signedIn: false });
      expect(w.store.entries().has(key), "the logout removed the record").toBe(false);
      expect(w.store.entries().has(`ended:${id}`)).toBe(true);

      heldRead.release();
      const late = await racing;
      expect(late.status, late.text).toBe(200);
      const refreshed = late.body as TokenBody;
      // Nothing brings the record (with the refreshed tokens) back after the logout removed it.
      expect(w.store.entries().has(key), "the refresh wrote the record back after the logout").toBe(false);
      for (const [k, v] of w.store.entries()) {
        if (!k.startsWith("signin:")) continue;
        expect(JSON.stringify(await w.open(v)), k).not.toContain(refreshed.accessToken);
      }
      expect((await me(agent.get("/me"))).signedIn).toBe(false);
    });
  });
});
