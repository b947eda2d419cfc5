/**
 * Shared pieces of the refresh, saved-token and Redis suites: a clock the test moves by hand,
 * event recorders, an unhandled-rejection watch, a real listening server for concurrent requests,
 * and a route that shows the stored (not refreshed) token.
 */
import { once } from "node:events";
import { afterEach, beforeEach, expect } from "vitest";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Express, Request, Response } from "express";
import type { FletAuthMiddleware, LoginEvent, LogoutEvent, RefreshEvent } from "../../lib/index.js";

/** A fixed starting point (2027-01-15T08:00:00Z) so expiry arithmetic never depends on the wall clock. */
export const START_MS = 1_800_000_000_000;

/** A clock for `fletAuth({ clock })` that only moves when the test says so. */
export interface ManualClock {
  /** Pass this as `clock`. */
  readonly fn: () => number;
  /** Current time, ms. */
  now(): number;
  set(ms: number): void;
  advanceSeconds(seconds: number): void;
  /** Moves to `secondsBefore` seconds before `expiresAt` (Unix seconds). */
  setBeforeExpiry(expiresAt: number, secondsBefore: number): void;
}

export function manualClock(start = START_MS): ManualClock {
  let now = start;
  return {
    fn: () => now,
    now: () => now,
    set(ms) {
      now = ms;
    },
    advanceSeconds(seconds) {
      now += seconds * 1000;
    },
    setBeforeExpiry(expiresAt, secondsBefore) {
      now = (expiresAt - secondsBefore) * 1000;
    },
  };
}

/** What the listeners saw, trimmed to plain data (the events hold req/res). */
export interface RecordedEvents {
  login: Array<{ provider: string; error: string | undefined; source: string; userId: string | undefined; accessToken: string | undefined }>;
  logout: Array<{ provider: string; reason: string }>;
  refresh: Array<{ provider: string; accessToken: string }>;
}

export function recordEvents(auth: FletAuthMiddleware): RecordedEvents {
  const events: RecordedEvents = { login: [], logout: [], refresh: [] };
  auth.on("login", (e: LoginEvent) => {
    events.login.push({ provider: e.provider, error: e.error, source: e.source, userId: e.auth?.user?.id, accessToken: e.auth?.token.accessToken });
  });
  auth.on("logout", (e: LogoutEvent) => {
    events.logout.push({ provider: e.provider, reason: e.reason });
  });
  auth.on("refresh", (e: RefreshEvent) => {
    events.refresh.push({ provider: e.provider, accessToken: e.auth.token.accessToken });
  });
  return events;
}

/** Collects unhandled rejections while installed; `stop()` removes the listener. */
export function watchUnhandledRejections(): { readonly seen: unknown[]; stop(): void } {
  const seen: unknown[] = [];
  const listener = (reason: unknown): void => {
    seen.push(reason);
  };
  process.on("unhandledRejection", listener);
  return { seen, stop: () => process.off("unhandledRejection", listener) };
}

/**
 * Per-test hygiene for suites that start servers: fails the test on any unhandled rejection and
 * runs the registered cleanups (newest first). Returns the list to push cleanups onto.
 */
export function useServerLifecycle(): Array<() => Promise<void>> {
  const cleanups: Array<() => Promise<void>> = [];
  let rejections: ReturnType<typeof watchUnhandledRejections>;
  beforeEach(() => {
    rejections = watchUnhandledRejections();
  });
  afterEach(async () => {
    // Let any stray promise settle and be reported before checking.
    await new Promise((resolve) => setImmediate(resolve));
    rejections.stop();
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    expect(rejections.seen, "unhandled rejections").toEqual([]);
  });
  return cleanups;
}

/** Listens on 127.0.0.1 (ephemeral port): one server for many concurrent supertest requests. */
export async function listen(app: Express): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const server = app.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The stored token as Flet's JSON fields (no refresh), or null when signed out. */
export type StoredToken = {
  access_token: string;
  refresh_token?: string;
  expires_at?: number;
  expires_in?: number;
  scope?: string[];
  token_type?: string;
} | null;

/** `GET /stored-token`: `req.auth.token.toJson()` parsed, without calling getToken(). */
export function addStoredTokenRoute(app: Express): void {
  app.get("/stored-token", (req: Request, res: Response) => {
    res.json(req.auth ? (JSON.parse(req.auth.token.toJson()) as StoredToken) : null);
  });
}
