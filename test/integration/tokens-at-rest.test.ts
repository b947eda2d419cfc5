/**
 * Tokens at rest: the sign-in records flet-auth keeps are sealed with a key derived once from
 * `secret` (a string or a list for rotation: seal with the first, open with any). A record that
 * no longer opens — secret rotated out, store tampered with — counts as signed out and leaves the
 * session; never a 500.
 *
 * A record lives in one of two places (lib/signin/stored.ts), and every test runs against both:
 * - store mode: sessions in express-session's MemoryStore, plus a flet-auth `store` the test
 *   inspects; the session holds the sign-in id, the store holds the sealed record under
 *   `signin:<id>`;
 * - session mode: sessions in a store that is not MemoryStore (JSON text in a map, as a network
 *   store keeps them) and the default flet-auth store; the sealed record stays in the session.
 *   The default store is the in-memory one flet-auth creates for itself; this file swaps its
 *   factory (lib/store/memory.ts) for an inspectable store of the same interface, so "nothing
 *   readable at rest" covers it too (it holds `latest:` tokens and `ended:` marks).
 */
import session from "express-session";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createSealer } from "../../lib/crypto/sealer.js";
import { hkdfKey } from "../../lib/crypto/keys.js";
import type { MemoryStoreOptions } from "../../lib/store/memory.js";
import { EXPRESS, buildApp, signIn, standardProvider, type ExpressFactory, type Agent, type MeBody, type TestAuthOptions } from "../helpers/apps.js";
import { startFakeProvider, type FakeProvider } from "../helpers/fake-provider.js";
import { createInspectableStore, JsonSessionStore, type InspectableStore, type StoredSession } from "../helpers/record-stores.js";
import { manualClock, type ManualClock } from "../helpers/refresh-harness.js";
import { recordingLogger } from "../helpers/review-harness.js";
import { cookieHeader, cookieValue, findSetCookie, sessionIdOf, signSessionId } from "../helpers/remember-cookies.js";

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

const OLD = "old-session-secret-0123456789abcdef0123";
const NEW = "new-session-secret-0123456789abcdef0123";
const SID = "flet-auth.sid";
const PAST_EXPIRY_S = 2 * 3600;
const SIGN_IN_ID = /^[A-Za-z0-9_-]{22}$/;

/** MemoryStore keeps each session as a JSON string in `sessions` (express-session's own layout). */
function memorySessions(store: session.MemoryStore): Record<string, string> {
  return (store as unknown as { sessions: Record<string, string> }).sessions;
}

/** Where one test's apps keep sessions and records, and how the test reads and damages them. */
interface AtRest {
  /** The fletAuth options every app of the test gets. */
  readonly options: Pick<TestAuthOptions, "session" | "store">;
  /** Builds an app with these stores (session mode: its default flet-auth store is kept for inspection). */
  app(create: ExpressFactory, secret: string | string[], clock: ManualClock): ReturnType<typeof buildApp>["app"];
  /** Every stored session, by id, as JSON text. */
  sessions(): Record<string, string>;
  readSession(sid: string): StoredSession;
  writeSession(sid: string, data: StoredSession): void;
  /** Every flet-auth store the apps use, as key → value. */
  storeEntries(): Map<string, string>;
  /** Everything at rest: every session and every flet-auth store entry, as one text. */
  everything(): string;
  /** The sealed record of session `sid`'s sign-in with `provider`, where this mode keeps it. */
  sealedRecord(sid: string, provider: string): string | undefined;
  /** Replaces that sealed record in place (a tampered store). */
  replaceRecord(sid: string, provider: string, value: string): void;
}

interface Mode {
  readonly mode: "store" | "session";
  atRest(clock: ManualClock): AtRest;
}

function sessionAccess(texts: () => Record<string, string>, write: (sid: string, text: string) => void) {
  return {
    sessions: texts,
    readSession(sid: string): StoredSession {
      const raw = texts()[sid];
      if (raw === undefined) throw new Error(`no session ${sid} in the store`);
      return JSON.parse(raw) as StoredSession;
    },
    writeSession(sid: string, data: StoredSession): void {
      write(sid, JSON.stringify(data));
    },
  };
}

function entryOf(data: StoredSession, provider: string): unknown {
  return data.fletAuth?.auths?.[provider];
}

const MODES: readonly Mode[] = [
  {
    mode: "store",
    atRest(clock) {
      const sessionStore = new session.MemoryStore();
      const store = createInspectableStore(clock.fn);
      const access = sessionAccess(
        () => memorySessions(sessionStore),
        (sid, text) => void (memorySessions(sessionStore)[sid] = text),
      );
      const recordKey = (sid: string, provider: string): string => {
        const id = entryOf(access.readSession(sid), provider);
        expect(id, "store mode: the session holds the sign-in id").toMatch(SIGN_IN_ID);
        return `signin:${id as string}`;
      };
      const options = { session: { store: sessionStore }, store };
      return {
        ...access,
        options,
        app: (create, secret, c) => buildApp(create, { providers: { idp: standardProvider(fake) }, secret, clock: c.fn, logger: recordingLogger(), ...options }).app,
        storeEntries: () => store.entries(),
        everything: () => JSON.stringify([access.sessions(), [...store.entries()]]),
        sealedRecord: (sid, provider) => store.entries().get(recordKey(sid, provider)),
        replaceRecord(sid, provider, value) {
          const key = recordKey(sid, provider);
          const ttl = store.expiresAt(key);
          expect(ttl, `${key} is in the store`).toBeDefined();
          void store.set(key, value, ttl! - clock.now());
        },
      };
    },
  },
  {
    mode: "session",
    atRest() {
      const sessionStore = new JsonSessionStore();
      const own: InspectableStore[] = [];
      const access = sessionAccess(
        () => Object.fromEntries(sessionStore.sessions),
        (sid, text) => void sessionStore.sessions.set(sid, text),
      );
      const options = { session: { store: sessionStore } };
      const storeEntries = (): Map<string, string> => new Map(own.flatMap((s) => [...s.entries()]));
      return {
        ...access,
        options,
        app(create, secret, c) {
          const before = defaultStores.length;
          const { app } = buildApp(create, { providers: { idp: standardProvider(fake) }, secret, clock: c.fn, logger: recordingLogger(), ...options });
          expect(defaultStores.length, "the app made its default flet-auth store").toBe(before + 1);
          own.push(...defaultStores.slice(before));
          return app;
        },
        storeEntries,
        everything: () => JSON.stringify([access.sessions(), [...storeEntries()]]),
        sealedRecord(sid, provider) {
          const entry = entryOf(access.readSession(sid), provider);
          if (entry !== undefined) expect(entry, "session mode: the session holds the sealed record, not an id").not.toMatch(SIGN_IN_ID);
          return entry as string | undefined;
        },
        replaceRecord(sid, provider, value) {
          const data = access.readSession(sid);
          data.fletAuth!.auths![provider] = value;
          access.writeSession(sid, data);
        },
      };
    },
  },
];

let fake: FakeProvider;
beforeAll(async () => {
  fake = await startFakeProvider();
});
afterAll(() => fake.close());

/** Opens a sealed record with exactly these secrets (what an app knowing only them would read). */
function openWith(secret: string, sealed: string, clock: ManualClock): Promise<string | undefined> {
  return createSealer(secret, "session-token", { now: clock.fn, derive: hkdfKey }).open(sealed);
}

describe.each(EXPRESS)("tokens at rest ($name)", ({ create }) => {
  describe.each(MODES)("records in the $mode", ({ mode, atRest }) => {
    /** Signs in on `app`; returns the agent, the raw session cookie, the session id and the tokens the app hands out. */
    async function signedIn(app: ReturnType<AtRest["app"]>): Promise<{ agent: Agent; cookie: string; sid: string; accessToken: string; refreshToken: string }> {
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

    it("no store holds the tokens or the user, before or after a refresh (the whole sign-in is sealed)", async () => {
      const clock = manualClock();
      const rest = atRest(clock);
      const app = rest.app(create, OLD, clock);
      const { agent, sid, accessToken, refreshToken } = await signedIn(app);

      // It is the right place: the session is there, and the sealed record where this mode keeps it.
      expect(Object.keys(rest.sessions())).toContain(sid);
      const sealed = rest.sealedRecord(sid, "idp");
      expect(typeof sealed).toBe("string");
      expect(await openWith(OLD, sealed!, clock), "the sealed record opens with the secret").toContain('"provider":"idp"');
      if (mode === "store") expect([...rest.storeEntries().keys()].filter((k) => k.startsWith("signin:"))).toHaveLength(1);
      else expect([...rest.storeEntries().keys()].filter((k) => k.startsWith("signin:")), "session mode: no record in the store").toEqual([]);
      expect((await agent.get("/me")).body).toMatchObject({ signedIn: true, user: { login: "octocat" } });
      // Nothing of the sign-in is readable, in the session store or the flet-auth store.
      const everything = rest.everything();
      expect(everything).not.toContain("octocat");
      expect(everything).not.toContain(accessToken);
      expect(everything).not.toContain(refreshToken);
      expect(everything).not.toMatch(/access_token|refresh_token/);

      clock.advanceSeconds(PAST_EXPIRY_S);
      const refreshed = (await agent.get("/token")).body as { accessToken: string; refreshToken: string };
      expect(refreshed.accessToken).not.toBe(accessToken);
      const resealed = rest.sealedRecord(sid, "idp");
      expect(resealed, "the refresh re-sealed the record in place").not.toBe(sealed);
      expect(await openWith(OLD, resealed!, clock)).toContain(refreshed.accessToken.slice(0, 12));
      // Session mode: the newest token went to the store too (sealed), for stale session copies.
      if (mode === "session") expect([...rest.storeEntries().keys()].some((k) => k.startsWith("latest:"))).toBe(true);
      const after = rest.everything();
      expect(after).not.toContain("octocat");
      expect(after).not.toMatch(/access_token|refresh_token/);
      for (const secret of [accessToken, refreshToken, refreshed.accessToken, refreshed.refreshToken]) {
        expect(after).not.toContain(secret);
      }
    });

    it("secret: [new, old] reads sessions written with old, and re-seals refreshed tokens with new", async () => {
      const clock = manualClock();
      const rest = atRest(clock);
      const oldApp = rest.app(create, OLD, clock);
      const rotated = rest.app(create, [NEW, OLD], clock);
      const newOnly = rest.app(create, NEW, clock);
      const { cookie, sid, accessToken } = await signedIn(oldApp);
      const sealedWithOld = rest.sealedRecord(sid, "idp")!;
      expect(await openWith(NEW, sealedWithOld, clock), "sealed with old only").toBeUndefined();

      // Same cookie, same stores, rotated app: still signed in, with the same token.
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
      expect((refreshed.body as { accessToken: string }).accessToken).not.toBe(accessToken);
      const resealed = rest.sealedRecord(sid, "idp");
      expect(resealed).toBeDefined();
      expect(resealed).not.toBe(sealedWithOld);
      expect(await openWith(NEW, resealed!, clock), "re-sealed with the new secret, refreshed token included").toContain(
        (refreshed.body as { accessToken: string }).accessToken,
      );
      expect(await openWith(OLD, resealed!, clock), "not with the old one").toBeUndefined();
      // …which an app that knows only the new secret opens (its session cookie signed with new).
      const newJar = cookieHeader({ [SID]: signSessionId(sid, NEW) });
      const seen = await request(newOnly).get("/me").set("Cookie", newJar);
      expect(seen.body).toMatchObject({ signedIn: true, user: { id: "1001" } });
    });

    it("an app whose secrets no longer include old sees the session as signed out and drops the entry", async () => {
      const clock = manualClock();
      const rest = atRest(clock);
      const oldApp = rest.app(create, OLD, clock);
      const newOnly = rest.app(create, NEW, clock);
      const { sid } = await signedIn(oldApp);
      expect(rest.sealedRecord(sid, "idp")).toBeDefined();

      // The session cookie is valid for the new app (signed with its secret); only the record is old.
      const jar = cookieHeader({ [SID]: signSessionId(sid, NEW) });
      const res = await request(newOnly).get("/me").set("Cookie", jar);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ signedIn: false, provider: null });
      expect(entryOf(rest.readSession(sid), "idp"), "the unreadable authorization is dropped").toBeUndefined();
      const token = await request(newOnly).get("/token").set("Cookie", jar);
      expect(token.status).toBe(401);
    });

    type Damage = [string, (entry: string) => string];
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

    it.each(damages)("a corrupted sealed record (%s) → signed out, not 500", async (_name, damage) => {
      const clock = manualClock();
      const rest = atRest(clock);
      const app = rest.app(create, OLD, clock);
      const { agent, sid } = await signedIn(app);
      const sealed = rest.sealedRecord(sid, "idp")!;
      rest.replaceRecord(sid, "idp", damage(sealed));
      expect(rest.everything()).not.toContain(sealed);

      const res = await agent.get("/me");
      expect(res.status).toBe(200);
      expect((res.body as MeBody).signedIn).toBe(false);
      expect(entryOf(rest.readSession(sid), "idp")).toBeUndefined();
      const token = await agent.get("/token");
      expect(token.status).toBe(401);
    });

    if (mode === "store") {
      it.each(damages)("a corrupted sign-in id in the session (%s) → signed out, not 500", async (_name, damage) => {
        const clock = manualClock();
        const rest = atRest(clock);
        const app = rest.app(create, OLD, clock);
        const { agent, sid } = await signedIn(app);
        const data = rest.readSession(sid);
        data.fletAuth!.auths!["idp"] = damage(String(entryOf(data, "idp")));
        rest.writeSession(sid, data);

        const res = await agent.get("/me");
        expect(res.status).toBe(200);
        expect((res.body as MeBody).signedIn).toBe(false);
        expect(entryOf(rest.readSession(sid), "idp")).toBeUndefined();
        expect((await agent.get("/token")).status).toBe(401);
      });

      it("two sign-ins' records swapped in the store both read as signed out (a record filed under another id is refused)", async () => {
        const clock = manualClock();
        const rest = atRest(clock);
        const app = rest.app(create, OLD, clock);
        const a = await signedIn(app);
        const b = await signedIn(app);
        const recordA = rest.sealedRecord(a.sid, "idp")!;
        const recordB = rest.sealedRecord(b.sid, "idp")!;
        expect(recordA).not.toBe(recordB);
        rest.replaceRecord(a.sid, "idp", recordB);
        rest.replaceRecord(b.sid, "idp", recordA);

        // The app that sealed both (its cache of opened records knows them)…
        for (const browser of [a, b]) {
          expect(((await browser.agent.get("/me")).body as MeBody).signedIn).toBe(false);
          expect((await browser.agent.get("/token")).status).toBe(401);
        }
        // …and another instance sharing the stores, opening them afresh.
        const b2 = await signedIn(app);
        rest.replaceRecord(b2.sid, "idp", recordA);
        const other = rest.app(create, OLD, clock);
        const res = await request(other).get("/me").set("Cookie", cookieHeader({ [SID]: b2.cookie }));
        expect(res.body).toMatchObject({ signedIn: false, provider: null });
      });
    }

    type Malformed = [string, (data: StoredSession) => void];
    const malformed: Malformed[] = [
      ["entry a number", (r) => void (r.fletAuth!.auths!["idp"] = 12345)],
      ["entry an unsealed record", (r) => void (r.fletAuth!.auths!["idp"] = { token: JSON.stringify({ access_token: "planted" }), user: { id: "admin", groups: [] } })],
      ["entry missing", (r) => void delete r.fletAuth!.auths!["idp"]],
      ["entry null", (r) => void (r.fletAuth!.auths!["idp"] = null)],
      ["entry a string", (r) => void (r.fletAuth!.auths!["idp"] = "gAAAAA")],
      ["auths not an object", (r) => void ((r.fletAuth as Record<string, unknown>)["auths"] = "idp")],
      ["fletAuth not an object", (r) => void (r.fletAuth = 42 as unknown as StoredSession["fletAuth"])],
    ];

    // Not a sealed record nor an id at all: whatever the session holds, the visitor is signed out — never a 500.
    it.each(malformed)("a malformed session entry (%s) → signed out, not 500", async (_name, damage) => {
      const clock = manualClock();
      const rest = atRest(clock);
      const app = rest.app(create, OLD, clock);
      const { agent, sid } = await signedIn(app);
      const data = rest.readSession(sid);
      damage(data);
      rest.writeSession(sid, data);

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
});
