/**
 * Shared steps of the security suites (return-to, callback errors, sessions): starting a login
 * by hand, forging callback URLs, reading cookies, recording session stores, and the checks every
 * failed callback must pass (clean page, no stack, never "signed in").
 */
import type { Express, Request, Response } from "express";
import session, { type SessionData, type Store } from "express-session";
import request from "supertest";
import { expect } from "vitest";
import { fletAuth, type FletAuthMiddleware, type FletAuthOptions, type LoginEvent, type LogoutEvent } from "../../lib/index.js";
import { standardProvider, type ExpressFactory } from "./apps.js";
import type { FakeProvider } from "./fake-provider.js";

/** Any supertest client: `request(app)` or `request.agent(app)`. */
export type Client = ReturnType<typeof request.agent> | ReturnType<typeof request>;

/** What a test sees of a login event (the event itself holds req/res). */
export interface SeenLogin {
  readonly error: string | undefined;
  readonly errorDescription: string | undefined;
  readonly provider: string;
  readonly signedIn: boolean;
}

/** Collects `login` and `logout` events of a fletAuth instance. */
export function recordEvents(auth: FletAuthMiddleware): { logins: SeenLogin[]; logouts: string[] } {
  const logins: SeenLogin[] = [];
  const logouts: string[] = [];
  auth.on("login", (e: LoginEvent) => {
    logins.push({ error: e.error, errorDescription: e.errorDescription, provider: e.provider, signedIn: e.auth !== undefined });
  });
  auth.on("logout", (e: LogoutEvent) => {
    logouts.push(e.provider);
  });
  return { logins, logouts };
}

/** Options of {@link buildSecurityApp}. */
export interface SecurityAppOptions {
  /** Runs before fletAuth is mounted (e.g. the app's own express-session, trust proxy). */
  readonly before?: (app: Express) => void;
  /** Runs after fletAuth is mounted, before /me and the error handler (extra routes). */
  readonly after?: (app: Express, auth: FletAuthMiddleware) => void;
  /** Pass the fletAuth options as they are (no default secret). */
  readonly raw?: boolean;
}

/** The error the app's error handler received, as JSON. */
export interface ErrorBody {
  code: string;
  status: number;
  message: string;
}

/**
 * Like `buildApp`, but with hooks around the fletAuth mount and an error handler that records
 * what `next(err)` delivered.
 */
export function buildSecurityApp(
  create: ExpressFactory,
  options: Omit<FletAuthOptions, "secret"> & { readonly secret?: FletAuthOptions["secret"] },
  hooks: SecurityAppOptions = {},
): { app: Express; auth: FletAuthMiddleware; errors: unknown[] } {
  const app = create();
  hooks.before?.(app);
  const auth = fletAuth(hooks.raw ? (options as FletAuthOptions) : { secret: SECURITY_SECRET, ...options });
  app.use(auth);
  hooks.after?.(app, auth);
  app.get("/me", (req: Request, res: Response) => {
    res.json({ signedIn: req.auth !== undefined, provider: req.auth?.provider ?? null, providers: Object.keys(req.authorizations ?? {}) });
  });
  const errors: unknown[] = [];
  app.use((err: { status?: number; code?: string; message?: string }, _req: Request, res: Response, _next: (e?: unknown) => void) => {
    void _next;
    errors.push(err);
    res.status(err.status ?? 500).json({ code: err.code ?? "error", status: err.status ?? 500, message: err.message ?? "" });
  });
  return { app, auth, errors };
}

export const SECURITY_SECRET = "security-suite-session-secret-0123456789";

/** A started login: the 302 to the provider, its URL, and the state it carries. */
export interface StartedLogin {
  readonly res: request.Response;
  readonly authorizeUrl: URL;
  readonly state: string;
}

/** `GET <path>` (a login route) and checks it redirects to the provider with a state. */
export async function startLogin(client: Client, path: string): Promise<StartedLogin> {
  const res = await client.get(path);
  expect(res.status, `login start ${path}: ${res.text}`).toBe(302);
  const authorizeUrl = new URL(res.headers["location"] as string);
  const state = authorizeUrl.searchParams.get("state");
  expect(state, "authorize URL carries a state").toBeTruthy();
  return { res, authorizeUrl, state: state as string };
}

/** A callback path (path + query) with the given parameters, e.g. a forged provider answer. */
export function callbackPath(path: string, params: Record<string, string>): string {
  return `${path}?${new URLSearchParams(params).toString()}`;
}

/** Path + query of an absolute URL. */
export function relative(url: string): string {
  const u = new URL(url);
  return `${u.pathname}${u.search}`;
}

const SIGNED_IN_TEXT = /signed in successfully|successfully signed in/i;

/** A stack frame as Node prints it (`    at fn (/path/file.ts:1:2)`). */
const STACK_FRAME = /\n\s+at\s.+(:\d+:\d+|\(native\))/;

/**
 * The checks every failed callback must pass: the expected status, an HTML page, no stack trace,
 * never a claim of success.
 */
export function expectFailurePage(res: request.Response, status: number): void {
  expect(res.status, `status of ${res.text.slice(0, 300)}`).toBe(status);
  expect(res.headers["content-type"]).toMatch(/^text\/html/);
  expect(res.text).not.toMatch(SIGNED_IN_TEXT);
  expect(res.text).not.toMatch(STACK_FRAME);
  expect(res.text).not.toMatch(/FletAuthError|node_modules|\/lib\//);
}

/** No response of these suites may be a 500 with a stack. */
export function expectNoStack(res: request.Response): void {
  expect(res.status).not.toBe(500);
  expect(res.text).not.toMatch(STACK_FRAME);
}

export { SIGNED_IN_TEXT };

/** A `Set-Cookie` entry, parsed. */
export interface SetCookie {
  readonly name: string;
  readonly value: string;
  readonly attributes: ReadonlyMap<string, string>;
  readonly raw: string;
}

/** Every `Set-Cookie` of a response, parsed (attribute names lower-cased). */
export function setCookies(res: request.Response): SetCookie[] {
  const header = res.headers["set-cookie"] as unknown;
  const list = Array.isArray(header) ? (header as string[]) : typeof header === "string" ? [header] : [];
  return list.map((raw) => {
    const [pair = "", ...attrs] = raw.split(";");
    const eq = pair.indexOf("=");
    const attributes = new Map<string, string>();
    for (const attr of attrs) {
      const i = attr.indexOf("=");
      const key = (i === -1 ? attr : attr.slice(0, i)).trim().toLowerCase();
      attributes.set(key, i === -1 ? "" : attr.slice(i + 1).trim());
    }
    return { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), attributes, raw };
  });
}

/** The named cookie of a response, or undefined. */
export function cookieNamed(res: request.Response, name: string): SetCookie | undefined {
  return setCookies(res).find((c) => c.name === name);
}

/** The session id inside an express-session cookie value (`s:<id>.<signature>`, URL-encoded). */
export function sessionIdOf(cookieValue: string): string {
  const decoded = decodeURIComponent(cookieValue);
  expect(decoded.startsWith("s:"), `signed session cookie ${decoded}`).toBe(true);
  const dot = decoded.lastIndexOf(".");
  return decoded.slice(2, dot);
}

/** Promisified MemoryStore access, for suites that inspect or tamper with stored sessions. */
export function storeGet(store: Store, sid: string): Promise<SessionData | null | undefined> {
  return new Promise((resolve, reject) => store.get(sid, (err: unknown, data?: SessionData | null) => (err ? reject(err) : resolve(data))));
}

export function storeSet(store: Store, sid: string, data: SessionData): Promise<void> {
  return new Promise((resolve, reject) => store.set(sid, data, (err?: unknown) => (err ? reject(err) : resolve())));
}

export function storeAll(store: session.MemoryStore): Promise<Record<string, SessionData>> {
  return new Promise((resolve, reject) =>
    store.all((err: unknown, all?: Record<string, SessionData> | null) => (err ? reject(err) : resolve(all ?? {}))),
  );
}

/** One entry of a {@link RecordingStore}'s timeline. */
export type TimelineEntry =
  | { readonly kind: "set-start" | "set-done"; readonly sid: string; readonly data: SessionData }
  | { readonly kind: "response"; readonly status: number; readonly url: string };

/**
 * An asynchronous express-session store (a MemoryStore behind a real delay, like a network
 * store) that records when each `set()` started and finished, on a timeline shared with the
 * responses (see {@link recordResponses}).
 */
export class RecordingStore extends session.Store {
  readonly inner = new session.MemoryStore();
  readonly timeline: TimelineEntry[] = [];

  constructor(private readonly latencyMs = 25) {
    super();
  }

  override get(sid: string, callback: (err: unknown, data?: SessionData | null) => void): void {
    setTimeout(() => this.inner.get(sid, callback), 1);
  }

  override set(sid: string, data: SessionData, callback?: (err?: unknown) => void): void {
    const copy = JSON.parse(JSON.stringify(data)) as SessionData;
    this.timeline.push({ kind: "set-start", sid, data: copy });
    // Store latency (a network round trip), not test timing: the response must wait for it.
    setTimeout(() => {
      this.inner.set(sid, data, (err?: unknown) => {
        this.timeline.push({ kind: "set-done", sid, data: copy });
        callback?.(err);
      });
    }, this.latencyMs);
  }

  override destroy(sid: string, callback?: (err?: unknown) => void): void {
    setTimeout(() => this.inner.destroy(sid, callback), 1);
  }

  override touch(sid: string, data: SessionData, callback?: () => void): void {
    this.inner.touch(sid, data, callback);
  }
}

/** Middleware that records, on `timeline`, the moment each response's head is written. */
export function recordResponses(timeline: TimelineEntry[]) {
  return (req: Request, res: Response, next: () => void): void => {
    const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => Response;
    (res as unknown as { writeHead: (...args: unknown[]) => Response }).writeHead = (...args: unknown[]) => {
      timeline.push({ kind: "response", status: typeof args[0] === "number" ? args[0] : res.statusCode, url: req.originalUrl });
      return writeHead(...args);
    };
    next();
  };
}

/** Waits for pending macrotasks (so an unhandled rejection, if any, has been reported). */
export async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i += 1) await new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * The session suites' app: providers `demo` and `other` at `fake`, sessions in a MemoryStore the
 * test can read and plant data in, JSON answers instead of the complete page.
 */
export function twoProviderApp(create: ExpressFactory, fake: FakeProvider): ReturnType<typeof buildSecurityApp> & { store: session.MemoryStore } {
  const store = new session.MemoryStore();
  const built = buildSecurityApp(create, {
    providers: {
      demo: standardProvider(fake),
      other: standardProvider(fake, { redirectUrl: "http://127.0.0.1/callback/other" }),
    },
    session: { store },
    redirectToPage: false,
  });
  return { ...built, store };
}
