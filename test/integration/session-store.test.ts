/**
 * flet-auth's session against a store that misbehaves (lib/session/session.ts): a store that
 * fails, hangs or is disconnected answers `session_unavailable` — 503 with a sanitised cause,
 * within `storeTimeoutMs` — instead of a crash or a request that never ends; and flet-auth's own
 * express-session does not rewrite sessions that did not change (`resave: false`).
 */
import type { Request, Response } from "express";
import session, { type SessionData } from "express-session";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FletAuthOptions } from "../../lib/index.js";
import { EXPRESS, standardProvider } from "../helpers/apps.js";
import { startFakeProvider, type FakeProvider } from "../helpers/fake-provider.js";
import { buildSecurityApp, recordEvents, relative, startLogin, type ErrorBody } from "../helpers/security-helpers.js";

type Fault = "none" | "hang" | "fail";

/** A MemoryStore whose reads, writes and destroys can be made to hang or fail, counting writes. */
class FaultyStore extends session.Store {
  readonly inner = new session.MemoryStore();
  onGet: Fault = "none";
  onSet: Fault = "none";
  onDestroy: Fault = "none";
  writes = 0;
  /** The error a failing operation answers: a client error that carries a connection URL with a password. */
  static readonly FAILURE = "connect ECONNREFUSED redis://default:hunter2@cache.internal:6379";

  private act(fault: Fault, run: () => void, callback: ((err?: unknown) => void) | undefined): void {
    if (fault === "hang") return;
    if (fault === "fail") return callback?.(new Error(FaultyStore.FAILURE));
    run();
  }

  override get(sid: string, callback: (err: unknown, data?: SessionData | null) => void): void {
    this.act(this.onGet, () => this.inner.get(sid, callback), callback);
  }

  override set(sid: string, data: SessionData, callback?: (err?: unknown) => void): void {
    this.writes += 1;
    this.act(this.onSet, () => this.inner.set(sid, data, callback), callback);
  }

  override destroy(sid: string, callback?: (err?: unknown) => void): void {
    this.act(this.onDestroy, () => this.inner.destroy(sid, callback), callback);
  }
}

describe.each(EXPRESS)("session store faults ($name)", ({ create }) => {
  let fake: FakeProvider;

  beforeAll(async () => {
    fake = await startFakeProvider();
  });
  afterAll(() => fake.close());

  function setup(store: session.Store, options: Partial<FletAuthOptions> = {}) {
    const built = buildSecurityApp(create, {
      providers: { demo: standardProvider(fake) },
      session: { store },
      storeTimeoutMs: 50,
      redirectToPage: false,
      ...options,
    });
    built.app.get("/visit", (_req: Request, res: Response) => {
      res.json({ ok: true });
    });
    return { ...built, events: recordEvents(built.auth), agent: request.agent(built.app) };
  }

  const errorOf = (res: request.Response): ErrorBody => res.body as ErrorBody;

  it("a store that hangs on load: 503 session_unavailable after storeTimeoutMs, naming what timed out", async () => {
    const store = new FaultyStore();
    const { agent, errors } = setup(store);
    await startLogin(agent, "/login/demo"); // the browser now has a session cookie
    store.onGet = "hang";
    const res = await agent.get("/visit");
    expect(res.status).toBe(503);
    expect(errorOf(res).code).toBe("session_unavailable");
    expect(errorOf(res).message).toBe("The session store is not available; try again shortly.");
    expect((errors[0] as Error).cause).toMatchObject({ message: "the session store did not load the session within 50 ms" });
  });

  it("a store that fails on load: 503 session_unavailable, the cause's connection password masked", async () => {
    const store = new FaultyStore();
    const { agent, errors } = setup(store);
    await startLogin(agent, "/login/demo");
    store.onGet = "fail";
    const res = await agent.get("/visit");
    expect(res.status).toBe(503);
    expect(errorOf(res).code).toBe("session_unavailable");
    const cause = (errors[0] as Error).cause as Error;
    expect(cause.message).toBe("connect ECONNREFUSED redis://***@cache.internal:6379");
  });

  it("a disconnected store (express-session then creates no session): session_unavailable, not a crash", async () => {
    const store = new FaultyStore();
    const { agent, errors } = setup(store);
    // flet-auth mounts its express-session on the first request; it then listens to the store.
    expect((await agent.get("/visit")).status).toBe(200);
    // express-session runs without a session while its store says it is disconnected.
    store.emit("disconnect");
    const res = await agent.get("/login/demo");
    expect(errorOf(res).code).toBe("session_unavailable");
    expect((errors[0] as Error).message).toBe("flet-auth needs a session, and none was created.");
  });

  it("a store that hangs on save when a login starts: 503 after storeTimeoutMs, naming the save", async () => {
    const store = new FaultyStore();
    const { agent, errors } = setup(store);
    store.onSet = "hang";
    const res = await agent.get("/login/demo");
    expect(res.status).toBe(503);
    expect(errorOf(res).code).toBe("session_unavailable");
    expect((errors[0] as Error).cause).toMatchObject({ message: "the session store did not save the session within 50 ms" });
  });

  it("a store that hangs on regenerate at sign-in: the callback fails with session_unavailable (503), not signed in", async () => {
    const store = new FaultyStore();
    const { agent, events } = setup(store);
    const started = await startLogin(agent, "/login/demo");
    const callback = relative(await fake.authorize(started.authorizeUrl.toString()));
    store.onDestroy = "hang";
    const res = await agent.get(callback);
    expect(res.status).toBe(503);
    expect(events.logins).toEqual([expect.objectContaining({ error: "session_unavailable", signedIn: false })]);
  });

  it("a store that hangs on regenerate at sign-out: 503 session_unavailable, naming the regenerate", async () => {
    const store = new FaultyStore();
    const { agent, errors } = setup(store);
    const started = await startLogin(agent, "/login/demo");
    expect((await agent.get(relative(await fake.authorize(started.authorizeUrl.toString())))).status).toBe(200);
    store.onDestroy = "hang";
    const res = await agent.post("/logout").set("Accept", "application/json");
    expect(res.status).toBe(503);
    expect(errorOf(res).code).toBe("session_unavailable");
    expect((errors[0] as Error).cause).toMatchObject({ message: "the session store did not regenerate the session within 50 ms" });
  });

  it("flet-auth's own session is not written back when a request changed nothing (resave: false)", async () => {
    const store = new FaultyStore();
    const { agent } = setup(store);
    const started = await startLogin(agent, "/login/demo");
    expect((await agent.get(relative(await fake.authorize(started.authorizeUrl.toString())))).status).toBe(200);
    expect((await agent.get("/me")).body.signedIn).toBe(true);
    const writes = store.writes;
    expect((await agent.get("/visit")).status).toBe(200);
    expect((await agent.get("/me")).body.signedIn).toBe(true);
    expect(store.writes).toBe(writes);
  });
});
