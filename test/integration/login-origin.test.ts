/**
 * A login started on another origin than the provider's redirectUrl (issue 12, items 2 and 3).
 *
 * - `127.0.0.1` for a `localhost` redirectUrl (same scheme and port): the login route first moves
 *   the browser to `localhost`, so the session cookie lands where the provider sends it back, and
 *   the sign-in completes.
 * - Any other difference (another port, scheme or host): one clear warning per provider.
 *
 * The browser is simulated with one cookie jar per host name (as a browser keeps them), every
 * request carrying its URL's `Host` header; supertest sends them all to the same test server.
 */
import type { Express } from "express";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it, vi, type Mock } from "vitest";
import { startFakeProvider, type FakeProvider } from "../helpers/fake-provider.js";
import { EXPRESS, buildApp, standardProvider, type Agent } from "../helpers/apps.js";

type LogFn = (message: string, ...details: unknown[]) => void;

const LOCALHOST_CALLBACK = "http://localhost:8550/oauth_callback";

/** A browser: one cookie jar per host name; each request goes to `app` with its URL's Host header. */
function browser(app: Express): { get(url: string, headers?: Record<string, string>): Promise<request.Response>; jar(hostname: string): Agent } {
  const jars = new Map<string, Agent>();
  const jar = (hostname: string): Agent => {
    let agent = jars.get(hostname);
    if (agent === undefined) jars.set(hostname, (agent = request.agent(app)));
    return agent;
  };
  return {
    jar,
    get: (url, headers = {}) => {
      const u = new URL(url);
      return jar(u.hostname).get(`${u.pathname}${u.search}`).set("Host", u.host).set(headers);
    },
  };
}

describe.each(EXPRESS)("login origin ($name)", ({ create }) => {
  let fake: FakeProvider;
  let logger: { warn: Mock<LogFn>; error: Mock<LogFn> };
  beforeAll(async () => {
    fake = await startFakeProvider();
  });
  afterAll(() => fake.close());

  function app(redirectUrl = LOCALHOST_CALLBACK, extraProvider = false): { app: Express; auth: ReturnType<typeof buildApp>["auth"] } {
    logger = { warn: vi.fn<LogFn>(), error: vi.fn<LogFn>() };
    const built = buildApp(create, {
      providers: {
        demo: standardProvider(fake, { redirectUrl }),
        ...(extraProvider ? { other: standardProvider(fake, { redirectUrl }) } : {}),
      },
      logger,
    });
    // An app route that starts the login itself (req.login), as apps with their own buttons do.
    built.app.get("/signin", (req, _res, next) => {
      req.login("demo", { returnTo: "/me" }).catch(next);
    });
    return built;
  }

  const originWarnings = (): string[] => logger.warn.mock.calls.map(([message]) => message).filter((m) => m.includes("redirectUrl"));

  it("a login started on 127.0.0.1 moves to localhost first (302, no-store, same path and query), then completes", async () => {
    const { app: server } = app();
    const b = browser(server);

    const start = await b.get("http://127.0.0.1:8550/login/demo?returnTo=%2Fme&remember=1");
    expect(start.status).toBe(302);
    expect(start.headers["location"]).toBe("http://localhost:8550/login/demo?returnTo=%2Fme&remember=1");
    expect(start.headers["cache-control"]).toBe("no-store");
    // Nothing was started on 127.0.0.1: no session, no pending login there.
    expect(start.headers["set-cookie"]).toBeUndefined();

    const login = await b.get(start.headers["location"] as string);
    expect(login.status).toBe(302);
    expect((login.headers["location"] as string).startsWith(`${fake.url}/authorize`)).toBe(true);
    expect(new URL(login.headers["location"] as string).searchParams.get("redirect_uri")).toBe(LOCALHOST_CALLBACK);

    const callback = await fake.authorize(login.headers["location"] as string);
    expect(new URL(callback).origin).toBe("http://localhost:8550");
    const done = await b.get(callback);
    expect(done.status, done.text).toBe(303);
    expect(done.headers["location"]).toBe("/me");

    const me = await b.get("http://localhost:8550/me");
    expect(me.body).toMatchObject({ signedIn: true, provider: "demo", user: { id: "1001" } });
    // The move is the fix, not a mistake worth a warning.
    expect(originWarnings()).toEqual([]);
  });

  it("the popup flag survives the move; [::1] and 127.x.y.z are moved too", async () => {
    const { app: server } = app();
    const b = browser(server);
    const popup = await b.get("http://[::1]:8550/login/demo?popup=1");
    expect(popup.status).toBe(302);
    expect(popup.headers["location"]).toBe("http://localhost:8550/login/demo?popup=1");
    const other = await b.get("http://127.0.0.2:8550/login/demo");
    expect(other.headers["location"]).toBe("http://localhost:8550/login/demo");
  });

  it("without the move it fails: req.login() from the app on 127.0.0.1 comes back to localhost with no pending login, and warns", async () => {
    const { app: server } = app();
    const b = browser(server);
    const start = await b.get("http://127.0.0.1:8550/signin");
    // req.login() called by the app is never moved: the app answers its own request.
    expect(start.status).toBe(302);
    expect((start.headers["location"] as string).startsWith(`${fake.url}/authorize`)).toBe(true);
    const callback = await fake.authorize(start.headers["location"] as string);
    const done = await b.get(callback);
    expect(done.status).toBe(400);
    expect(done.text).toContain("No sign-in is pending in this browser for this host name");
    expect(originWarnings()).toHaveLength(1);
    expect(originWarnings()[0]).toContain("http://127.0.0.1:8550");
    expect(originWarnings()[0]).toContain("http://localhost:8550");
  });

  it("a redirectUrl on another port: the login is not moved, and one warning per provider names both origins and the fix", async () => {
    const { app: server } = app(LOCALHOST_CALLBACK, true);
    const b = browser(server);
    for (let i = 0; i < 2; i++) {
      const start = await b.get("http://localhost:3000/login/demo");
      expect(start.status).toBe(302);
      expect((start.headers["location"] as string).startsWith(`${fake.url}/authorize`)).toBe(true);
    }
    expect(originWarnings()).toHaveLength(1);
    const [warning] = originWarnings();
    expect(warning).toContain('provider "demo"');
    expect(warning).toContain("a login started on http://localhost:3000");
    expect(warning).toContain("sends the browser back to http://localhost:8550");
    expect(warning).toContain("Set the provider's redirectUrl to this app's address (http://localhost:3000/oauth_callback) and register that URL at the provider");

    await b.get("http://localhost:3000/login/other");
    await b.get("http://localhost:3000/login/other");
    expect(originWarnings()).toHaveLength(2);
    expect(originWarnings()[1]).toContain('provider "other"');
  });

  it("each fletAuth() instance warns for itself", async () => {
    const first = app();
    const firstLogger = logger;
    await browser(first.app).get("http://localhost:3000/login/demo");
    const second = app();
    await browser(second.app).get("http://localhost:3000/login/demo");
    expect(firstLogger.warn).toHaveBeenCalledTimes(1);
    expect(logger.warn).toHaveBeenCalledTimes(1);
  });

  it("behind a trusted proxy, the forwarded scheme counts: https on 127.0.0.1 moves to https://localhost; http versus https only warns", async () => {
    const { app: server } = app("https://localhost:8443/oauth_callback");
    server.set("trust proxy", true);
    const b = browser(server);
    const moved = await b.get("http://127.0.0.1:8443/login/demo", { "X-Forwarded-Proto": "https" });
    expect(moved.status).toBe(302);
    expect(moved.headers["location"]).toBe("https://localhost:8443/login/demo");

    const plain = await b.get("http://127.0.0.1:8443/login/demo");
    expect((plain.headers["location"] as string).startsWith(`${fake.url}/authorize`)).toBe(true);
    expect(originWarnings()).toHaveLength(1);
    expect(originWarnings()[0]).toContain("a login started on http://127.0.0.1:8443");
  });

  it("the same origin: no move, no warning", async () => {
    const { app: server } = app();
    const b = browser(server);
    const start = await b.get("http://localhost:8550/login/demo");
    expect((start.headers["location"] as string).startsWith(`${fake.url}/authorize`)).toBe(true);
    expect(logger.warn).not.toHaveBeenCalled();
  });
});
