/**
 * lib/session/session.ts up to the data check: loadSession runs express-session within a deadline
 * (one answer per request, no timer left behind), and authData hands back flet-auth's part of the
 * session as stored when it is well-formed, else a copy with only the well-formed entries.
 *
 * The store is a gate the test opens by hand and the deadline runs on vitest's fake setTimeout,
 * so "before" and "after the deadline" are facts, not timing guesses.
 */
import { createHmac } from "node:crypto";
import { IncomingMessage, ServerResponse } from "node:http";
import { Socket } from "node:net";
import type { Request, RequestHandler, Response } from "express";
import session, { type SessionData } from "express-session";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { FletAuthError } from "../../../lib/errors.js";
import { authData, loadSession } from "../../../lib/session/session.js";
import { createDeadlineQueue } from "../../../lib/util/deadline-queue.js";

const SECRET = "session-load-suite-secret-0123456789abcdef";
const NAME = "flet-auth.sid";
const DEADLINE_MS = 200;

/** A store whose reads wait until the test answers them. */
class GatedStore extends session.Store {
  readonly pending: Array<(err: unknown, data?: SessionData | null) => void> = [];

  override get(_sid: string, callback: (err: unknown, data?: SessionData | null) => void): void {
    this.pending.push(callback);
  }

  override set(_sid: string, _data: SessionData, callback?: (err?: unknown) => void): void {
    callback?.();
  }

  override destroy(_sid: string, callback?: (err?: unknown) => void): void {
    callback?.();
  }

  /** Answers the oldest read: no such session (express-session then starts a new one). */
  answer(): void {
    const callback = this.pending.shift();
    if (!callback) throw new Error("no read is waiting");
    callback(null, null);
  }
}

/** The signed session cookie express-session expects (cookie-signature: HMAC-SHA256, base64, no padding). */
function sessionCookie(sid: string): string {
  const signature = createHmac("sha256", SECRET).update(sid).digest("base64").replace(/=+$/, "");
  return `${NAME}=${encodeURIComponent(`s:${sid}.${signature}`)}`;
}

/** A real Node request/response pair for GET /, with the given Cookie header if any. */
function exchange(cookie?: string): { req: Request; res: Response } {
  const message = new IncomingMessage(new Socket());
  message.method = "GET";
  message.url = "/";
  if (cookie !== undefined) message.headers["cookie"] = cookie;
  return { req: message as unknown as Request, res: new ServerResponse(message) as unknown as Response };
}

/** What loadSession needs of an instance; the deadlines measured on the faked Date. */
function runtime(ownSession: RequestHandler) {
  return { ownSession: () => ownSession, config: { storeTimeoutMs: DEADLINE_MS }, storeDeadlines: createDeadlineQueue(DEADLINE_MS, () => Date.now()) };
}

describe("loadSession", () => {
  let store: GatedStore;
  let middleware: RequestHandler;

  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    store = new GatedStore();
    middleware = session({ name: NAME, secret: SECRET, store, resave: false, saveUninitialized: false });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("a visitor without a session cookie gets a session at once, and no deadline timer is armed", () => {
    const { req, res } = exchange();
    const done = vi.fn();
    loadSession(req, res, runtime(middleware), done);
    expect(done).toHaveBeenCalledTimes(1);
    expect(done).toHaveBeenCalledWith();
    expect(req.session).toBeDefined();
    expect(vi.getTimerCount(), "no timer for a load that needed no store").toBe(0);
  });

  it("a store that answers before the deadline: one success, and the deadline never fires", () => {
    const { req, res } = exchange(sessionCookie("sid-answers-in-time"));
    const done = vi.fn();
    loadSession(req, res, runtime(middleware), done);
    expect(done).not.toHaveBeenCalled();
    expect(store.pending).toHaveLength(1);
    expect(vi.getTimerCount(), "the deadline is armed while the store is read").toBe(1);

    store.answer();
    expect(done).toHaveBeenCalledTimes(1);
    expect(done).toHaveBeenCalledWith();
    expect(req.session).toBeDefined();
    vi.advanceTimersByTime(DEADLINE_MS);
    expect(done, "the answered load is not timed out later").toHaveBeenCalledTimes(1);
    expect(vi.getTimerCount(), "no timer once its time has passed").toBe(0);
  });

  it("a store that answers after the deadline: one session_unavailable (503), the late answer ignored", () => {
    const { req, res } = exchange(sessionCookie("sid-answers-late"));
    const done = vi.fn();
    loadSession(req, res, runtime(middleware), done);
    vi.advanceTimersByTime(DEADLINE_MS - 1);
    expect(done).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(done).toHaveBeenCalledTimes(1);
    const err = done.mock.calls[0]?.[0] as unknown;
    expect(err).toBeInstanceOf(FletAuthError);
    expect(err).toMatchObject({ code: "session_unavailable", status: 503 });
    expect((err as Error).cause).toMatchObject({ message: `the session store did not load the session within ${DEADLINE_MS} ms` });

    store.answer();
    expect(done, "the request was answered once; the late store answer does not continue it").toHaveBeenCalledTimes(1);
  });

  it("loads in flight at once share one timer, and each times out at its own deadline", () => {
    const rt = runtime(middleware);
    const first = exchange(sessionCookie("sid-first"));
    const second = exchange(sessionCookie("sid-second"));
    const done1 = vi.fn();
    const done2 = vi.fn();
    loadSession(first.req, first.res, rt, done1);
    vi.advanceTimersByTime(50);
    loadSession(second.req, second.res, rt, done2);
    expect(store.pending).toHaveLength(2);
    expect(vi.getTimerCount(), "one timer for both deadlines").toBe(1);

    vi.advanceTimersByTime(DEADLINE_MS - 50);
    expect(done1).toHaveBeenCalledTimes(1);
    expect(done1.mock.calls[0]?.[0]).toMatchObject({ code: "session_unavailable", status: 503 });
    expect(done2, "the second load started 50 ms later").not.toHaveBeenCalled();
    vi.advanceTimersByTime(49);
    expect(done2).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(done2).toHaveBeenCalledTimes(1);
    expect(done2.mock.calls[0]?.[0]).toMatchObject({ code: "session_unavailable", status: 503 });
    expect(vi.getTimerCount(), "no timer once nothing waits").toBe(0);
  });

  it("a load answered in time does not keep the timer for one still waiting, nor fire", () => {
    const rt = runtime(middleware);
    const first = exchange(sessionCookie("sid-in-time"));
    const second = exchange(sessionCookie("sid-late"));
    const done1 = vi.fn();
    const done2 = vi.fn();
    loadSession(first.req, first.res, rt, done1);
    vi.advanceTimersByTime(100);
    loadSession(second.req, second.res, rt, done2);
    store.answer(); // the first load's read
    expect(done1).toHaveBeenCalledWith();
    expect(vi.getTimerCount(), "the second deadline is still armed").toBe(1);
    vi.advanceTimersByTime(DEADLINE_MS - 1);
    expect(done2).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(done1, "the answered load is not timed out later").toHaveBeenCalledTimes(1);
    expect(done2).toHaveBeenCalledTimes(1);
    expect(done2.mock.calls[0]?.[0]).toMatchObject({ code: "session_unavailable" });
  });

  it("a load that needs no store cancels no other load's deadline", () => {
    // Tickets 0 and 1 wait on the store; the cookie-less visitor between them sets no deadline,
    // and must not cancel one (a load with no ticket cancels ticket -1, which is none).
    const rt = runtime(middleware);
    const waiting = [exchange(sessionCookie("sid-waits-0")), exchange(sessionCookie("sid-waits-1"))];
    const dones = [vi.fn(), vi.fn()];
    for (const [i, { req, res }] of waiting.entries()) loadSession(req, res, rt, dones[i] as () => void);
    expect(rt.storeDeadlines.pending).toBe(2);
    const fresh = exchange();
    const doneFresh = vi.fn();
    loadSession(fresh.req, fresh.res, rt, doneFresh);
    expect(doneFresh).toHaveBeenCalledWith();
    expect(rt.storeDeadlines.pending, "both deadlines still armed").toBe(2);
    vi.advanceTimersByTime(DEADLINE_MS);
    for (const done of dones) expect(done.mock.calls).toEqual([[expect.objectContaining({ code: "session_unavailable" })]]);
  });

  it("a session middleware that calls next(null) — Express's \"no error\" — loads successfully", () => {
    const { req, res } = exchange();
    const nullCallback: RequestHandler = (request, response, next) => middleware(request, response, () => next(null));
    const done = vi.fn();
    loadSession(req, res, runtime(nullCallback), done);
    expect(done).toHaveBeenCalledTimes(1);
    expect(done).toHaveBeenCalledWith();
  });
});

describe("authData", () => {
  const transaction = { provider: "demo", verifier: "v".repeat(43), createdAt: 1_700_000_000_000, scope: ["openid"] };
  const logout = { state: "hashed-state", returnTo: "/", expiresAt: 1_700_000_600_000 };

  /** A request whose session holds `fletAuth` exactly as a store might hand it back. */
  const withStored = (fletAuth: unknown): Request => ({ session: { fletAuth } }) as unknown as Request;

  it("a request without a session has no flet-auth data (signed out), not a TypeError", () => {
    expect(authData({} as Request)).toEqual({});
  });

  it("well-formed data is handed back as stored, not copied on every request", () => {
    const stored = { auths: { demo: "sign-in-1" }, current: "demo", tx: { "state-hash": transaction }, logout };
    expect(authData(withStored(stored))).toBe(stored);
  });

  it("malformed data: each well-formed entry is kept, each malformed one and unknown keys dropped", () => {
    const stored = {
      auths: { demo: "sign-in-1", broken: 42 },
      tx: { good: transaction, bad: { ...transaction, provider: 1 } },
      current: "demo",
      logout,
      leftover: "from an older version",
    };
    expect(authData(withStored(stored))).toStrictEqual({ auths: { demo: "sign-in-1" }, tx: { good: transaction }, current: "demo", logout });
  });

  it("a sign-in table with a non-string entry is cleaned, even when everything else is well-formed", () => {
    const stored = { auths: { demo: "sign-in-1", broken: { id: "sign-in-2" } }, current: "demo" };
    expect(authData(withStored(stored))).toStrictEqual({ auths: { demo: "sign-in-1" }, current: "demo" });
  });

  it("a sign-in table that is not an object is dropped, the rest kept", () => {
    const stored = { auths: "sign-in-1", current: "demo" };
    expect(authData(withStored(stored))).toStrictEqual({ current: "demo" });
  });
});
