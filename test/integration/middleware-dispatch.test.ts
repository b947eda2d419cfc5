/**
 * The middleware itself (lib/middleware.ts), on real Express apps: which requests it takes, what
 * happens when its handling fails before or after the response started, its listening surface,
 * and how the request defaults (`req.login`, `req.logout`, `req.authorizations`, `req.auth`)
 * live with what the app puts on its requests:
 *
 * - only `GET` and `POST` reach flet-auth's logout and back-channel routes; other methods, and a
 *   login path whose provider segment is not valid percent-encoding, go on to the app;
 * - a back-channel logout whose store write fails reaches the app's error handler (the provider
 *   gets an error answer and can retry) instead of never being answered;
 * - a failure after the response started (a `login` listener that answered the failed callback
 *   itself) is logged, not handed to the app's error handler;
 * - `on`/`once`/`off`/… return the middleware (chainable), never the inner emitter;
 * - values the app set on the request before flet-auth are replaced, every time; a `login` or
 *   `auth` the app put on its own request prototype (`app.request`) stays there; flet-auth's
 *   defaults are neither own properties of the request nor listed by `for...in`, on any request;
 * - a page request whose session app code set to `null` still reaches the app; one whose session
 *   it set to `undefined` gets flet-auth's own session;
 * - remember-me restores on the status endpoint (any fetch mode), never for a WebSocket handshake.
 */
import { once } from "node:events";
import { createServer, get as httpGet, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Express, NextFunction, Request, Response } from "express";
import { exportJWK, generateKeyPair } from "jose";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMemoryStore, fletAuth, type FletAuthStore } from "../../lib/index.js";
import { EXPRESS, SECRET, buildApp, signIn, standardProvider, type MeBody } from "../helpers/apps.js";
import { startFakeProvider, type FakeProvider } from "../helpers/fake-provider.js";
import { signRs256, type SigningKey } from "../helpers/oidc-jwt.js";
import { START_MS, listen, manualClock } from "../helpers/refresh-harness.js";
import { cookieHeader, cookieValue, findSetCookie, setCookies } from "../helpers/remember-cookies.js";
import { recordingLogger } from "../helpers/review-harness.js";

const REMEMBER = "flet-auth.remember";
const REMEMBER_KEY = "remember-me-key-0123456789abcdef0123";
const BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout";
const DEFAULT_KEYS = ["login", "logout", "authorizations", "auth"] as const;

let fake: FakeProvider;
let jwks: Server;
let issuer: string;
let jwksUri: string;
let key: SigningKey;

beforeAll(async () => {
  fake = await startFakeProvider();
  const pair = await generateKeyPair("RS256");
  key = { kid: "dispatch-key-1", privateKey: pair.privateKey };
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: key.kid, alg: "RS256", use: "sig" };
  jwks = createServer((_req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  jwks.listen(0, "127.0.0.1");
  await once(jwks, "listening");
  const base = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}`;
  issuer = `${base}/op`;
  jwksUri = `${base}/jwks`;
});

/** A GET with the request target sent as given (Latin-1, as Node sends a path), which supertest would normalise. */
async function rawGet(server: { readonly url: string }, target: string): Promise<{ status: number; contentType: string; location: string | undefined; json: unknown }> {
  const { hostname: host, port } = new URL(server.url);
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    httpGet({ host, port, path: target, agent: false }, resolve).on("error", reject);
  });
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks).toString("utf8");
  const contentType = res.headers["content-type"] ?? "";
  return { status: res.statusCode ?? 0, contentType, location: res.headers.location, json: contentType.startsWith("application/json") ? (JSON.parse(body) as unknown) : undefined };
}

afterAll(async () => {
  jwks.closeAllConnections();
  await new Promise<void>((resolve) => jwks.close(() => resolve()));
  await fake.close();
});

describe.each(EXPRESS)("the middleware ($name)", ({ create }) => {
  describe("routing", () => {
    it("PUT, DELETE and PATCH on the logout path, and PUT on the back-channel path, go on to the app; so does a login path with malformed percent-encoding", async () => {
      const { app } = buildApp(create, { providers: { idp: standardProvider(fake) }, logger: recordingLogger() });
      app.use((req: Request, res: Response) => {
        res.status(404).json({ app: `${req.method} ${req.path}` });
      });
      const cases: Array<[string, string]> = [
        ["put", "/logout"],
        ["delete", "/logout"],
        ["patch", "/logout"],
        ["put", "/backchannel_logout"],
        ["get", "/login/%E0%A4%A"],
      ];
      for (const [method, path] of cases) {
        const res = await request(app)[method as "put" | "delete" | "patch" | "get"](path);
        expect(res.status, `${method} ${path}: ${res.text}`).toBe(404);
        expect(res.body, `${method} ${path}`).toEqual({ app: `${method.toUpperCase()} ${path}` });
      }
    });

    it("finds its routes by the path Express routes by, whatever form the request target takes (query, fragment, absolute-form, a backslash url.parse rewrites), also mounted below a prefix", async () => {
      // The oracle: the path a middleware without flet-auth sees for the same request target, at
      // the root or mounted as flet-auth is (Express 4 and 5 strip a mount path differently).
      const oracle = create();
      oracle.use("/mount", (req: Request, res: Response) => res.json({ path: req.path }));
      oracle.use((req: Request, res: Response) => res.json({ path: req.path }));
      const app = create();
      const mounted = create();
      app.use(fletAuth({ secret: SECRET, providers: { idp: standardProvider(fake) } }));
      mounted.use("/mount", fletAuth({ secret: SECRET, providers: { idp: standardProvider(fake) } }));
      for (const a of [app, mounted]) a.use((req: Request, res: Response) => res.status(404).json({ app: req.originalUrl }));
      const servers = await Promise.all([oracle, app, mounted].map((a) => listen(a)));
      try {
        const targets = [
          "/flet-auth/client.js",
          "/flet-auth/client.js?v=1",
          "/flet-auth/client.js?next=/x#frag",
          "/flet-auth/client.js#frag",
          "/flet-auth\\client.js?q=#",
          "/flet-auth\\client.js?q=1",
          "/flet-auth/client.jsx",
          "/flet-auth/client.js/",
          "//flet-auth/client.js",
          "/x?/flet-auth/client.js",
          "/a\\b",
        ];
        let served = 0;
        for (const [server, prefix] of [[servers[1]!, ""], [servers[2]!, "/mount"]] as const) {
          for (const target of [...targets.map((t) => `${prefix}${t}`), ...targets.map((t) => `http://127.0.0.1${prefix}${t}`)]) {
            const expressPath = ((await rawGet(servers[0]!, target)).json as { path: string }).path;
            const answer = await rawGet(server, target);
            const ours = expressPath === "/flet-auth/client.js";
            expect(answer.status, `${target} (Express's path ${JSON.stringify(expressPath)})`).toBe(ours ? 200 : 404);
            expect(answer.contentType, target).toMatch(ours ? /^application\/javascript/ : /^application\/json/);
            if (ours) served++;
          }
        }
        // Each prefix: at least the first 5 targets are the script's path, plain and in absolute
        // form, and some are not: the test sees both answers.
        expect(served).toBeGreaterThanOrEqual(2 * 2 * 5);
        expect(served).toBeLessThan(2 * 2 * targets.length);
        // The other routes by the same path: a login with a query string starts the login.
        const login = await rawGet(servers[1]!, "/login/idp?returnTo=%2Fhome");
        expect(login.status).toBe(302);
        expect(login.location).toMatch(new RegExp(`^${fake.url}/authorize\\?`));
      } finally {
        await Promise.all(servers.map((s) => s.close()));
      }
    });
  });

  describe("failures", () => {
    it("a back-channel logout whose store write fails is handed to the app's error handler, which answers the provider", async () => {
      const clock = manualClock();
      const memory = createMemoryStore({ clock: clock.fn });
      const down = new Error("store down");
      const store: FletAuthStore = {
        getMany: (keys) => memory.getMany(keys),
        set: () => Promise.reject(down),
        swap: (k, expected, value, ttlMs) => memory.swap(k, expected, value, ttlMs),
        delete: (k) => memory.delete(k),
      };
      const app = create();
      app.use(fletAuth({ secret: SECRET, providers: { op: standardProvider(fake, { issuer, jwksUri }) }, store, clock: clock.fn, logger: recordingLogger() }));
      const handled: unknown[] = [];
      app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
        void _next;
        handled.push(err);
        res.status(503).json({ error: "temporarily_unavailable" });
      });
      const iat = Math.floor(START_MS / 1000);
      const token = await signRs256({ iss: issuer, aud: fake.clientId, iat, jti: "jti-store-down", sid: "sid-1", events: { [BACKCHANNEL_EVENT]: {} } }, key);
      const res = await request(app).post("/backchannel_logout").type("form").send({ logout_token: token });
      expect(res.status, res.text).toBe(503);
      expect(handled).toEqual([down]);
    });

    it("a failure after the response started (a login listener answered the failed callback itself) is logged, not passed to the app's error handler", async () => {
      const logger = recordingLogger();
      const app = create();
      const auth = fletAuth({ secret: SECRET, providers: { idp: standardProvider(fake) }, logger });
      auth.on("login", (e) => {
        if (e.error !== undefined) e.res.redirect(303, "/signin-failed");
      });
      app.use(auth);
      const handled: unknown[] = [];
      app.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
        handled.push(err);
        if (!res.headersSent) next(err);
      });
      const res = await request(app).get("/oauth_callback?state=unknown-state&code=c");
      expect(res.status).toBe(303);
      expect(res.headers["location"]).toBe("/signin-failed");
      expect(handled).toEqual([]);
      expect(logger.error).toHaveBeenCalledTimes(1);
      expect(logger.error).toHaveBeenCalledWith("flet-auth: request failed after the response started", expect.objectContaining({ code: "ERR_HTTP_HEADERS_SENT" }));
    });

    /** An app whose own code sets `req.session` (an own property) to `value` before flet-auth runs. */
    function appSettingSession(value: null | undefined): Express {
      const app = create();
      app.use((req: Request, _res: Response, next: NextFunction) => {
        (req as { session: unknown }).session = value;
        next();
      });
      app.use(fletAuth({ secret: SECRET, providers: { idp: standardProvider(fake) }, logger: recordingLogger() }));
      return app;
    }

    it("a page request whose session app code set to null before flet-auth still reaches the app, signed out", async () => {
      const app = appSettingSession(null);
      app.get("/page", (req: Request, res: Response) => res.json({ signedIn: req.auth !== undefined }));
      const res = await request(app).get("/page");
      expect(res.status, res.text).toBe(200);
      expect(res.body).toEqual({ signedIn: false });
    });

    it("a request whose session app code set to undefined before flet-auth gets flet-auth's own session: the login starts", async () => {
      // An own property holding undefined, not an absent one: still no session.
      const res = await request(appSettingSession(undefined)).get("/login/idp");
      expect(res.status, res.text).toBe(302);
      expect(res.headers["location"]).toMatch(new RegExp(`^${fake.url}/authorize\\?`));
      expect(findSetCookie(res, "flet-auth.sid"), "the login's state is kept in a session of flet-auth's own").toBeDefined();
    });
  });

  it("on, once, off, addListener, removeListener and removeAllListeners return the middleware itself (chainable)", () => {
    const auth = fletAuth({ secret: SECRET, providers: { idp: standardProvider(fake) } });
    const listener = (): void => undefined;
    expect(auth.on("login", listener)).toBe(auth);
    expect(auth.once("logout", listener)).toBe(auth);
    expect((auth as unknown as { addListener(e: string, l: () => void): unknown }).addListener("refresh", listener)).toBe(auth);
    expect(auth.listenerCount("login")).toBe(1);
    expect(auth.off("login", listener)).toBe(auth);
    expect((auth as unknown as { removeListener(e: string, l: () => void): unknown }).removeListener("refresh", listener)).toBe(auth);
    expect(auth.removeAllListeners()).toBe(auth);
    expect(auth.listenerCount("logout")).toBe(0);
  });

  describe("request defaults and the app's own request properties", () => {
    it("req.login, req.logout and req.auth set by a middleware before flet-auth are replaced by flet-auth's, on the first request and on later ones", async () => {
      const mine: Record<"login" | "logout" | "auth", unknown> = { login: async () => undefined, logout: async () => undefined, auth: { provider: "app's own" } };
      const app = create();
      app.use((req: Request, _res: Response, next: NextFunction) => {
        const which = req.path.slice("/own/".length);
        if (which === "login" || which === "logout" || which === "auth") (req as unknown as Record<string, unknown>)[which] = mine[which];
        next();
      });
      app.use(fletAuth({ secret: SECRET, providers: { idp: standardProvider(fake) }, logger: recordingLogger() }));
      app.get("/own/:which", (req: Request, res: Response) => {
        res.json({ login: req.login === mine.login, logout: req.logout === mine.logout, auth: req.auth === undefined ? "undefined" : "set", loginType: typeof req.login, logoutType: typeof req.logout });
      });
      const flet = { login: false, logout: false, auth: "undefined", loginType: "function", logoutType: "function" };
      for (const which of ["login", "none", "login", "logout", "auth"]) {
        const res = await request(app).get(`/own/${which}`);
        expect(res.status, which).toBe(200);
        expect(res.body, which).toEqual(flet);
      }
    });

    it("the defaults are not own properties of the request and are not listed by for...in, on every request of the app", async () => {
      const app = create();
      app.use(fletAuth({ secret: SECRET, providers: { idp: standardProvider(fake) }, logger: recordingLogger() }));
      app.get("/keys", (req: Request, res: Response) => {
        const listed: string[] = [];
        for (const k in req) if ((DEFAULT_KEYS as readonly string[]).includes(k)) listed.push(k);
        res.json({ own: DEFAULT_KEYS.filter((k) => Object.hasOwn(req, k)), listed, login: typeof req.login });
      });
      for (let i = 1; i <= 3; i++) {
        expect((await request(app).get("/keys")).body, `request ${i}`).toEqual({ own: [], listed: [], login: "function" });
      }
    });

    it.each(["login", "auth"] as const)("an app's own `%s` on its request prototype (app.request) stays there for the routes before flet-auth; flet-auth's routes get flet-auth's", async (name) => {
      const app = create();
      const own = name === "login" ? async () => undefined : { provider: "app's own" };
      (app.request as unknown as Record<string, unknown>)[name] = own;
      const show = (req: Request, res: Response): void => {
        res.json({ own: (req as unknown as Record<string, unknown>)[name] === own, login: typeof req.login, auth: req.auth === undefined ? "undefined" : "set" });
      };
      app.get("/before", show);
      app.use(fletAuth({ secret: SECRET, providers: { idp: standardProvider(fake) }, logger: recordingLogger() }));
      app.get("/after", show);
      const flet = { own: false, login: "function", auth: "undefined" };
      expect((await request(app).get("/after")).body).toEqual(flet);
      expect((await request(app).get("/before")).body).toMatchObject({ own: true });
      expect((await request(app).get("/after")).body).toEqual(flet);
      expect((app.request as unknown as Record<string, unknown>)[name]).toBe(own);
    });
  });

  describe("remember-me restore gating", () => {
    async function remembered(): Promise<{ app: Express; cookie: string }> {
      const { app } = buildApp(create, {
        providers: { idp: standardProvider(fake) },
        clock: manualClock().fn,
        rememberMe: { secretKey: REMEMBER_KEY },
        logger: recordingLogger(),
      });
      const done = await signIn(request.agent(app), fake, "/login/idp?remember=1");
      expect(done.status, done.text).toBe(303);
      const line = findSetCookie(done, REMEMBER);
      expect(line, "the callback sets the remember-me cookie").toBeDefined();
      return { app, cookie: cookieValue(line!) };
    }

    it("the status endpoint restores a browser that has only the remember-me cookie, for the helper's fetch (cors) and for a no-cors request alike", async () => {
      const { app, cookie } = await remembered();
      const cors = await request(app).get("/flet-auth/status").set("Cookie", cookieHeader({ [REMEMBER]: cookie })).set("Sec-Fetch-Mode", "cors");
      expect(cors.status).toBe(200);
      expect(cors.body).toMatchObject({ signedIn: true, provider: "idp" });
      // The restore rotated the cookie: the next fresh browser brings the new one.
      const rotated = findSetCookie(cors, REMEMBER);
      expect(rotated).toBeDefined();
      const noCors = await request(app).get("/flet-auth/status").set("Cookie", cookieHeader({ [REMEMBER]: cookieValue(rotated!) })).set("Sec-Fetch-Mode", "no-cors");
      expect(noCors.status).toBe(200);
      expect(noCors.body).toMatchObject({ signedIn: true, provider: "idp" });
    });

    it("a WebSocket handshake (Sec-Fetch-Mode: websocket) with only the remember-me cookie is served signed out, with no provider request and no cookie written; a navigation restores", async () => {
      const { app, cookie } = await remembered();
      const before = fake.requests.length;
      const socket = await request(app).get("/me").set("Cookie", cookieHeader({ [REMEMBER]: cookie })).set("Sec-Fetch-Mode", "websocket");
      expect(socket.status).toBe(200);
      expect((socket.body as MeBody).signedIn).toBe(false);
      expect(fake.requests.length).toBe(before);
      expect(setCookies(socket)).toEqual([]);

      const page = await request(app).get("/me").set("Cookie", cookieHeader({ [REMEMBER]: cookie })).set("Sec-Fetch-Mode", "navigate");
      expect(page.body as MeBody).toMatchObject({ signedIn: true, provider: "idp" });
    });
  });
});
