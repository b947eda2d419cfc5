/**
 * The callback across instances and hosts: a state is claimed in the shared store, so two app
 * instances behind a balancer cannot both exchange one code (issue 9 item 3); a callback that
 * finds no pending login at all says so instead of "already used" (issue 12 item 2); error
 * descriptions never end in a doubled full stop (issue 12 item 4).
 */
import request from "supertest";
import { describe, expect, it } from "vitest";
import { createMemoryStore, fletAuth, type FletAuthStore } from "../../lib/index.js";
import { EXPRESS, SECRET, pathOf, standardProvider, type ExpressFactory } from "../helpers/apps.js";
import { startFakeProvider, type FakeProvider } from "../helpers/fake-provider.js";
import { GatedMemoryStore, recordingLogger } from "../helpers/review-harness.js";
import { recordEvents } from "../helpers/refresh-harness.js";

describe.each(EXPRESS)("callback claims and messages ($name)", ({ create }) => {
  /** One app instance on a session store and a flet-auth store, both possibly shared. */
  function instance(factory: ExpressFactory, fake: FakeProvider, sessions: GatedMemoryStore, store?: FletAuthStore) {
    const app = factory();
    const auth = fletAuth({
      providers: { demo: standardProvider(fake) },
      secret: SECRET,
      session: { store: sessions },
      logger: recordingLogger(),
      redirectToPage: false,
      ...(store ? { store } : {}),
    });
    app.use(auth);
    return { app, events: recordEvents(auth) };
  }

  async function pendingCallback(fake: FakeProvider, app: ReturnType<typeof instance>["app"]) {
    const agent = request.agent(app);
    const start = await agent.get("/login/demo");
    expect(start.status, start.text).toBe(302);
    const cookie = ([] as string[]).concat(start.headers["set-cookie"] ?? []).map((c) => c.split(";")[0]).join("; ");
    return { cookie, callback: pathOf(await fake.authorize(start.headers["location"] as string)) };
  }

  it("two instances sharing a store: one callback URL sent to both while both read the same session makes ONE code exchange", async () => {
    const fake = await startFakeProvider();
    try {
      const sessions = new GatedMemoryStore();
      const shared = createMemoryStore();
      const a = instance(create, fake, sessions, shared);
      const b = instance(create, fake, sessions, shared);
      const { cookie, callback } = await pendingCallback(fake, a.app);
      // Both instances load the session (with the pending login) before either goes on.
      sessions.holdLoads(2);
      const [onA, onB] = await Promise.all([request(a.app).get(callback).set("Cookie", cookie), request(b.app).get(callback).set("Cookie", cookie)]);
      expect(fake.count("/token", "authorization_code")).toBe(1);
      expect([onA.status, onB.status].sort()).toEqual([200, 400]);
      const errors = [...a.events.login, ...b.events.login].map((e) => e.error ?? "ok").sort();
      expect(errors).toEqual(["invalid_state", "ok"]);
    } finally {
      await fake.close();
    }
  });

  it("control: without a shared store each instance claims alone, and both exchange the code", async () => {
    const fake = await startFakeProvider();
    try {
      const sessions = new GatedMemoryStore();
      const a = instance(create, fake, sessions);
      const b = instance(create, fake, sessions);
      const { cookie, callback } = await pendingCallback(fake, a.app);
      sessions.holdLoads(2);
      await Promise.all([request(a.app).get(callback).set("Cookie", cookie), request(b.app).get(callback).set("Cookie", cookie)]);
      // The provider refuses the second use of the code; what matters is that both tried.
      expect(fake.count("/token", "authorization_code")).toBe(2);
    } finally {
      await fake.close();
    }
  });

  it("a callback in a browser with no pending login says so (not 'already used'), with one full stop", async () => {
    const fake = await startFakeProvider();
    try {
      const a = instance(create, fake, new GatedMemoryStore());
      const { callback } = await pendingCallback(fake, a.app);
      // Another browser (or the same one on another host name: no session cookie) opens it.
      const res = await request(a.app).get(callback);
      expect(res.status).toBe(400);
      expect(res.text).toContain("No sign-in is pending in this browser for this host name");
      expect(res.text).not.toContain("already used");
      expect(res.text).not.toMatch(/\.\./);
      expect(a.events.login.map((e) => e.error)).toEqual(["invalid_state"]);
      expect(fake.count("/token", "authorization_code")).toBe(0);
    } finally {
      await fake.close();
    }
  });

  it("a second use of a callback in the same browser still says 'already used', with one full stop", async () => {
    const fake = await startFakeProvider();
    try {
      const a = instance(create, fake, new GatedMemoryStore());
      const agent = request.agent(a.app);
      await agent.get("/login/demo"); // a second pending login keeps the table non-empty
      const start = await agent.get("/login/demo");
      const callback = pathOf(await fake.authorize(start.headers["location"] as string));
      expect((await agent.get(callback)).status).toBe(200);
      const again = await agent.get(callback);
      expect(again.status).toBe(400);
      expect(again.text).toContain("invalid or was already used; please start again.");
      expect(again.text).not.toMatch(/\.\./);
    } finally {
      await fake.close();
    }
  });
});
