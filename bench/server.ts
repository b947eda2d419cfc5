/**
 * One app under test, run as a child process by the benchmarks (bench/common.ts startServer):
 *
 *   node --import tsx bench/server.ts <kind>
 *
 * Kinds: `bare` (no middleware), `session` (express-session alone; `GET /signin-session` stores the
 * bench profile in the session), `session-hashed` (the same after flet-auth's first step alone:
 * request and response moved to hash-table properties, lib/util/hashed-properties.ts),
 * `passport` (passport 0.7 + passport-local + express-session; `POST /signin-passport`), `eoc`
 * (express-openid-connect, its default cookie session; `/login`, `/callback`), `fletauth` (flet-auth on the provider found by discovery; `/login/idp`,
 * `/oauth_callback`), `fletauth-remember` (the same with `rememberMe`).
 *
 * Every kind answers `GET /me` with `{ signedIn, user }`; the auth libraries also `GET /token`
 * (flet-auth: `await req.auth.getToken()`; express-openid-connect: its documented
 * `isExpired()`/`refresh()` pattern). `GET /__cpu` reports the process's CPU time, `GET /__heap`
 * the heap after a full GC (with --expose-gc), `GET /__sessions` the session store's contents (with flet-auth's store).
 * The app is built once the port is known, so that redirect URLs name the real origin.
 *
 * Environment: PROVIDER_URL (the issuer, bench/provider.ts; without it flet-auth gets a provider on
 * FAKE_URL or a closed port, enough for signed-out requests), BENCH_FETCH_USER=0 (flet-auth
 * without the userinfo call), BENCH_PAGE_FN=1 (a completePageHtml function: each login holds a
 * page-registry entry), BENCH_LOGIN_TIMEOUT_MS, BENCH_STORE_CAP=N (a session store keeping only
 * the newest N sessions, instead of express-session's MemoryStore), BENCH_COUNTED_STORE=0 (flet-auth
 * with its default store rather than the byte-counting wrapper; `GET /__sessions` then omits its bytes).
 */
import { createServer } from "node:http";
import express, { type NextFunction, type Request, type Response } from "express";
import session, { type SessionData } from "express-session";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type * as FletAuthModule from "../lib/index.js";
import type * as HashedPropertiesModule from "../lib/util/hashed-properties.js";
import type { FletAuthOptions, FletAuthStore } from "../lib/index.js";
import { BENCH_PROFILE } from "./profile.js";
import { LocalStrategy, oidcAuth, oidcOf, passport, passportUser } from "./peers.js";
import { BENCH_REMEMBER_KEY, BENCH_SECRET, CLIENT_ID, CLIENT_SECRET } from "./common.js";

// What ships, as an app runs it: the build in dist/ (`npm run build`; `npm run bench` builds
// first), not lib/ through tsx, whose transform adds a keep-names call to every closure created.
// BENCH_DIST names another build to run instead (a copy of an older dist/esm/index.js, say, to
// measure a change against what it replaces in one run).
const built = new URL(process.env.BENCH_DIST || "../dist/esm/index.js", import.meta.url);
if (!existsSync(fileURLToPath(built))) throw new Error("bench/server.ts: no dist/esm/index.js; run `npm run build` first");
const { createMemoryStore, fletAuth, OAuthProvider } = (await import(built.href)) as typeof FletAuthModule;

const kind = process.argv[2] ?? "bare";
const providerUrl = process.env.PROVIDER_URL ?? process.env.FAKE_URL ?? "http://127.0.0.1:9";
const env = (name: string): string | undefined => (process.env[name] === "" ? undefined : process.env[name]);

declare module "express-session" {
  interface SessionData {
    /** The express-session floor's signed-in user (bench only). */
    benchUser?: typeof BENCH_PROFILE;
  }
}

/** express-session store keeping only the newest `cap` sessions (the issue-9 bench: flet-auth's own memory, not the app's store). */
class NewestSessionsStore extends session.Store {
  readonly #sessions = new Map<string, string>();
  constructor(readonly cap: number) {
    super();
  }
  override get(sid: string, callback: (err: unknown, session?: SessionData | null) => void): void {
    const json = this.#sessions.get(sid);
    callback(null, json === undefined ? null : (JSON.parse(json) as SessionData));
  }
  override set(sid: string, data: SessionData, callback?: (err?: unknown) => void): void {
    this.#sessions.delete(sid);
    this.#sessions.set(sid, JSON.stringify(data));
    for (const oldest of this.#sessions.keys()) {
      if (this.#sessions.size <= this.cap) break;
      this.#sessions.delete(oldest);
    }
    callback?.();
  }
  override destroy(sid: string, callback?: (err?: unknown) => void): void {
    this.#sessions.delete(sid);
    callback?.();
  }
  override touch(_sid: string, _data: SessionData, callback?: () => void): void {
    callback?.();
  }
  entries(): IterableIterator<string> {
    return this.#sessions.values();
  }
}

const cap = env("BENCH_STORE_CAP");
const store = cap === undefined ? new session.MemoryStore() : new NewestSessionsStore(Number(cap));

/**
 * flet-auth's store (the default in-memory one) with the bytes it holds counted: with sessions in
 * MemoryStore, the sign-in records live there, and they are part of what a signed-in session costs.
 */
function countingStore(): FletAuthStore & { bytes(): number } {
  const inner = createMemoryStore();
  const sizes = new Map<string, number>();
  const note = (key: string, value: string): void => {
    sizes.set(key, Buffer.byteLength(key) + Buffer.byteLength(value));
  };
  return {
    getMany: (keys) => inner.getMany(keys),
    async set(key, value, ttlMs, options) {
      const written = await inner.set(key, value, ttlMs, options);
      if (written) note(key, value);
      return written;
    },
    async swap(key, expected, value, ttlMs) {
      const written = await inner.swap(key, expected, value, ttlMs);
      if (written) note(key, value);
      return written;
    },
    async delete(key) {
      await inner.delete(key);
      sizes.delete(key);
    },
    bytes: () => [...sizes.values()].reduce((sum, n) => sum + n, 0),
  };
}
const fletStore = countingStore();

/** Every session the store holds, as JSON (for its count and size). */
function storedSessions(): Promise<string[]> {
  if (store instanceof NewestSessionsStore) return Promise.resolve([...store.entries()]);
  return new Promise((resolve, reject) => {
    store.all((err, all) => (err ? reject(err as Error) : resolve(Object.values(all ?? {}).map((s) => JSON.stringify(s)))));
  });
}

const app = express();
const server = createServer(app);
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const address = server.address();
const port = typeof address === "object" && address !== null ? address.port : 0;
const origin = `http://127.0.0.1:${port}`;

app.get("/__cpu", (_req: Request, res: Response) => {
  res.json(process.cpuUsage());
});
app.get("/__heap", (_req: Request, res: Response) => {
  // Twice: the first collection can leave finalisation work that frees more on the second.
  globalThis.gc?.();
  globalThis.gc?.();
  res.json({ gc: typeof globalThis.gc === "function", ...process.memoryUsage() });
});
app.get("/__sessions", (_req: Request, res: Response, next: NextFunction) => {
  storedSessions()
    // flet-auth's store counts too (empty for the other kinds).
    .then((all) => res.json({ count: all.length, bytes: all.reduce((sum, s) => sum + Buffer.byteLength(s), 0) + fletStore.bytes() }))
    .catch(next);
});

const sessionOptions = { secret: BENCH_SECRET, resave: false, saveUninitialized: false, name: "bench.sid", store };
let signedIn: (req: Request) => string | undefined = () => undefined;

switch (kind) {
  case "bare":
    break;
  case "session":
  case "session-hashed": {
    // The floor with flet-auth's first step and nothing else of it: the build's own
    // useHashedProperties (lib/util/hashed-properties.ts) on request and response before the
    // session adds its properties. What that step saves Express and express-session, measured apart.
    if (kind === "session-hashed") {
      const { useHashedProperties } = (await import(new URL("./util/hashed-properties.js", built).href)) as typeof HashedPropertiesModule;
      app.use((req: Request, res: Response, next: NextFunction) => {
        useHashedProperties(req);
        useHashedProperties(res);
        next();
      });
    }
    app.use(session(sessionOptions));
    app.get("/signin-session", (req: Request, res: Response, next: NextFunction) => {
      // As an app would after its own sign-in: a new session id, then the user in the session.
      req.session.regenerate((err: unknown) => {
        if (err) return next(err);
        req.session.benchUser = { ...BENCH_PROFILE };
        res.json({ signedIn: true });
      });
    });
    signedIn = (req) => req.session.benchUser?.sub;
    break;
  }
  case "passport": {
    passport.use(
      new LocalStrategy((username, password, done) => {
        done(null, username === BENCH_PROFILE.email && password === "bench-password" ? { ...BENCH_PROFILE } : false);
      }),
    );
    // The whole profile in the session (no database lookup per request), like the floor's.
    passport.serializeUser((user, done) => done(null, user));
    passport.deserializeUser((user, done) => done(null, user));
    app.use(session(sessionOptions));
    app.use(passport.session());
    app.post("/signin-passport", express.urlencoded({ extended: false }), passport.authenticate("local", { failWithError: true }), (_req: Request, res: Response) => {
      res.json({ signedIn: true });
    });
    signedIn = (req) => passportUser(req)?.sub;
    break;
  }
  case "eoc": {
    app.use(
      oidcAuth({
        issuerBaseURL: providerUrl,
        baseURL: origin,
        clientID: CLIENT_ID,
        clientSecret: CLIENT_SECRET,
        secret: BENCH_SECRET,
        authRequired: false,
        authorizationParams: { response_type: "code", response_mode: "query", scope: "openid profile email offline_access" },
      }),
    );
    app.get("/token", (req: Request, res: Response, next: NextFunction) => {
      const oidc = oidcOf(req);
      const token = oidc.accessToken;
      if (token === undefined) return void res.status(401).json({ signedIn: false });
      // The pattern express-openid-connect documents for an access token that may have expired.
      (token.isExpired() ? token.refresh() : Promise.resolve(token))
        .then((t) => res.json({ signedIn: true, accessTokenLength: t.access_token.length }))
        .catch(next);
    });
    signedIn = (req) => (oidcOf(req).isAuthenticated() ? String(oidcOf(req).user?.["sub"]) : undefined);
    break;
  }
  case "fletauth":
  case "fletauth-remember": {
    const common = { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUrl: `${origin}/oauth_callback` };
    // Without PROVIDER_URL (profiling the signed-out path by hand) the provider is never called.
    const idp =
      process.env.PROVIDER_URL === undefined
        ? new OAuthProvider({
            ...common,
            authorizationEndpoint: `${providerUrl}/authorize`,
            tokenEndpoint: `${providerUrl}/token`,
            userEndpoint: `${providerUrl}/userinfo`,
            userId: (u) => String(u["sub"]),
          })
        : await OAuthProvider.discover(providerUrl, { ...common, scopes: ["openid", "profile", "email", "offline_access"] });
    const loginTimeout = env("BENCH_LOGIN_TIMEOUT_MS");
    const options: FletAuthOptions = {
      providers: { idp },
      secret: BENCH_SECRET,
      session: { store, name: "bench.sid" },
      // The default in-memory store, counted (where the sign-in records live with MemoryStore
      // sessions), unless BENCH_COUNTED_STORE=0: then flet-auth's own default, as an app that
      // sets no `store` runs it (the per-request bench; the counting wrapper reads asynchronously).
      ...(env("BENCH_COUNTED_STORE") === "0" ? {} : { store: fletStore }),
      fetchUser: env("BENCH_FETCH_USER") !== "0",
      ...(kind === "fletauth-remember" ? { rememberMe: { secretKey: BENCH_REMEMBER_KEY } } : {}),
      ...(env("BENCH_PAGE_FN") === "1" ? { completePageHtml: () => "<!doctype html><p>Signed in.</p>" } : {}),
      ...(loginTimeout !== undefined ? { loginTimeoutMs: Number(loginTimeout) } : {}),
      // Failed logins are part of some benches; their warnings would only slow the run down.
      logger: { warn: () => undefined, error: () => undefined },
    };
    app.use(fletAuth(options));
    // A remembered login without the user profile: its restores make no provider call at all.
    app.get("/signin-nofetch", (req: Request, _res: Response, next: NextFunction) => {
      req.login("idp", { remember: true, fetchUser: false }).catch(next);
    });
    app.get("/token", (req: Request, res: Response, next: NextFunction) => {
      if (req.auth === undefined) return void res.status(401).json({ signedIn: false });
      req.auth
        .getToken()
        .then((t) => res.json({ signedIn: true, accessTokenLength: t.accessToken.length }))
        .catch(next);
    });
    signedIn = (req) => (req.auth === undefined ? undefined : (req.auth.user?.id ?? String(req.auth.claims?.["sub"])));
    break;
  }
  default:
    throw new Error(`unknown server kind ${kind}`);
}

app.get("/me", (req: Request, res: Response) => {
  const user = signedIn(req);
  res.json({ signedIn: user !== undefined, user: user ?? null });
});
app.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
  if (process.env.BENCH_DEBUG === "1") console.error(err);
  if (res.headersSent) return next(err);
  const status = typeof err === "object" && err !== null && "status" in err && typeof err.status === "number" ? err.status : 500;
  res.status(status).json({ error: err instanceof Error ? err.message : String(err) });
});

process.send?.({ port });
process.on("SIGTERM", () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
process.on("disconnect", () => process.exit(0));
