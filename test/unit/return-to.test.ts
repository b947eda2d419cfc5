/**
 * `returnTo` (checklist 13, 14; RFC 9700 §4.11): only same-origin relative paths, checked by the
 * pure step and through the login, callback and logout routes.
 */
import session from "express-session";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { safeReturnTo } from "../../lib/flow/return-to.js";
import { EXPRESS, buildApp, signIn, standardProvider } from "../helpers/apps.js";
import { startFakeProvider, type FakeProvider } from "../helpers/fake-provider.js";
import { relative, sessionIdOf, cookieNamed, startLogin, storeGet, storeSet } from "../helpers/security-helpers.js";

/** Open redirects and their encoded, whitespace and scheme variants. */
const HOSTILE = [
  "//evil",
  "//evil.example/path",
  "/\\evil",
  "\\\\evil",
  "https://evil",
  "http:evil",
  "HTTPS://evil",
  "javascript:alert(1)",
  "JaVaScRiPt:alert(1)",
  "data:text/html,<script>alert(1)</script>",
  "/%2F%2Fevil",
  "/%2f%2fevil",
  "/%5Cevil",
  "/%5cevil",
  "/%252F%252Fevil",
  "/%25252F%25252Fevil",
  "\t/evil",
  "/\t/evil",
  "/\n/evil",
  "/\r\n/evil",
  "/%09/evil",
  "/%0d%0aSet-Cookie:x=1",
  " /evil",
  "evil",
  "./evil",
  "../evil",
  "",
] as const;

const SAFE = ["/", "/a/b?x=1#h", "/me", "/repos?page=2&sort=name", "/caf%C3%A9", "/a%20b", "/path/with:colon", "/#fragment-only"] as const;

describe("safeReturnTo", () => {
  it.each(SAFE)("accepts the same-origin path %j unchanged", (value) => {
    expect(safeReturnTo(value)).toBe(value);
  });

  it.each(HOSTILE)("rejects %j", (value) => {
    expect(safeReturnTo(value)).toBeUndefined();
  });

  it.each([undefined, null, 0, 1, true, {}, [], ["/"], { toString: () => "/" }, () => "/", Symbol("x")])(
    "rejects the non-string %s",
    (value) => {
      expect(safeReturnTo(value)).toBeUndefined();
    },
  );

  it("rejects very long strings without throwing", () => {
    expect(() => safeReturnTo(`/${"a".repeat(100_000)}`)).not.toThrow();
    expect(safeReturnTo(`/${"a".repeat(100_000)}`)).toBeUndefined();
    expect(safeReturnTo(`/${"%2F".repeat(10_000)}`)).toBeUndefined();
  });

  it("still accepts an ordinary long path (a long search query)", () => {
    const value = `/search?q=${"a".repeat(500)}`;
    expect(safeReturnTo(value)).toBe(value);
  });

  it.each(["/%", "/%E0%A4%A", "/%zz", "/%C0%AF"])("never throws on malformed encoding %j", (value) => {
    expect(() => safeReturnTo(value)).not.toThrow();
    const result = safeReturnTo(value);
    // Either refused, or kept verbatim (it cannot leave the origin); never rewritten.
    expect(result === undefined || result === value).toBe(true);
  });

  it("never answers a value that resolves to another origin", () => {
    for (const value of [...HOSTILE, ...SAFE]) {
      const result = safeReturnTo(value);
      if (result === undefined) continue;
      expect(new URL(result, "https://app.example").origin).toBe("https://app.example");
    }
  });
});

describe.each(EXPRESS)("returnTo through the routes ($name)", ({ create }) => {
  let fake: FakeProvider;
  beforeAll(async () => {
    fake = await startFakeProvider();
  });
  afterAll(() => fake.close());

  const app = () => buildApp(create, { providers: { demo: standardProvider(fake) } }).app;

  it("a safe returnTo is where the callback sends the browser (control)", async () => {
    const done = await signIn(request.agent(app()), fake, `/login/demo?returnTo=${encodeURIComponent("/a/b?x=1#h")}`);
    expect(done.status).toBe(303);
    expect(done.headers["location"]).toBe("/a/b?x=1#h");
  });

  it("without returnTo the callback sends the browser to /", async () => {
    const done = await signIn(request.agent(app()), fake, "/login/demo");
    expect(done.status).toBe(303);
    expect(done.headers["location"]).toBe("/");
  });

  it.each(HOSTILE.filter((v) => v !== ""))("login ?returnTo=%j ends (after the callback) redirecting to /", async (value) => {
    const agent = request.agent(app());
    const done = await signIn(agent, fake, `/login/demo?returnTo=${encodeURIComponent(value)}`);
    expect(done.status).toBe(303);
    expect(done.headers["location"]).toBe("/");
    // The sign-in itself still worked: a bad returnTo falls back, it does not fail the login.
    const me = await agent.get("/me");
    expect(me.body.signedIn).toBe(true);
  });

  it("an unencoded ?returnTo=//evil (as a browser would send it) also ends at /", async () => {
    const done = await signIn(request.agent(app()), fake, "/login/demo?returnTo=//evil");
    expect(done.headers["location"]).toBe("/");
  });

  it("a returnTo given twice (?returnTo=/ok&returnTo=//evil) never redirects off-site", async () => {
    const done = await signIn(request.agent(app()), fake, "/login/demo?returnTo=/ok&returnTo=//evil");
    expect(done.status).toBe(303);
    expect(["/", "/ok"]).toContain(done.headers["location"]);
  });

  it("a returnTo in bracket syntax (?returnTo[x]=//evil) is ignored, never a 500", async () => {
    const done = await signIn(request.agent(app()), fake, "/login/demo?returnTo[x]=//evil");
    expect(done.status).toBe(303);
    expect(done.headers["location"]).toBe("/");
  });

  it.each(["https://evil", "//evil", "/\\evil", "/%2F%2Fevil", "javascript:alert(1)"])(
    "POST and GET /logout?returnTo=%j redirect to /",
    async (value) => {
      const post = await request(app()).post(`/logout?returnTo=${encodeURIComponent(value)}`).set("Accept", "text/html");
      expect(post.status).toBe(303);
      expect(post.headers["location"]).toBe("/");
      const get = await request(app()).get(`/logout?returnTo=${encodeURIComponent(value)}`).set("Accept", "text/html").set("Sec-Fetch-Site", "same-origin");
      expect(get.status).toBe(303);
      expect(get.headers["location"]).toBe("/");
    },
  );

  it("logout with a safe returnTo goes there (control)", async () => {
    const res = await request(app()).post("/logout?returnTo=/bye").set("Accept", "text/html");
    expect(res.status).toBe(303);
    expect(res.headers["location"]).toBe("/bye");
  });

  /** Starts a login, then edits the stored transaction's returnTo, as a compromised store could. */
  async function loginWithTamperedReturnTo(loginPath: string, stored: string) {
    const store = new session.MemoryStore();
    const { app: tamperable } = buildApp(create, { providers: { demo: standardProvider(fake) }, session: { store } });
    const agent = request.agent(tamperable);
    const started = await startLogin(agent, loginPath);
    const cookie = cookieNamed(started.res, "flet-auth.sid");
    expect(cookie).toBeDefined();
    const sid = sessionIdOf(cookie!.value);
    const data = await storeGet(store, sid);
    const tx = data?.fletAuth?.tx;
    expect(tx && Object.keys(tx).length).toBe(1);
    const [key, entry] = Object.entries(tx!)[0]!;
    expect(entry.returnTo).toBe("/fine");
    await storeSet(store, sid, { ...data!, fletAuth: { ...data!.fletAuth, tx: { [key]: { ...entry, returnTo: stored } } } });
    return { agent, started };
  }

  it("returnTo is checked again before redirecting: a stored //evil (edited session store) still ends at / (checklist 13)", async () => {
    const { agent, started } = await loginWithTamperedReturnTo("/login/demo?returnTo=/fine", "//evil.example");
    const done = await agent.get(relative(await fake.authorize(started.authorizeUrl.toString())));
    expect(done.status).toBe(303);
    expect(done.headers["location"]).toBe("/");
  });

  it.each([
    ["success (popup)", false],
    ["error", true],
  ] as const)("the complete page's return link is checked again too (%s, stored javascript: URL)", async (_what, deny) => {
    const { agent, started } = await loginWithTamperedReturnTo("/login/demo?returnTo=/fine&popup=1", "javascript:alert(document.cookie)");
    const page = await agent.get(relative(await fake.authorize(started.authorizeUrl.toString(), { deny })));
    expect(page.status).toBe(deny ? 403 : 200);
    expect(page.text).not.toMatch(/javascript:/i);
    const hrefs = [...page.text.matchAll(/href="([^"]*)"/g)].map((m) => m[1]);
    expect(hrefs).toContain("/");
  });
});
