/**
 * Every guide snippet's TypeScript counterpart under examples/ is type-checked by `npm test`
 * (tsconfig includes examples/) and smoke-run here against the fake provider.
 */
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { GitHubOAuthProvider } from "flet-auth";
import { startFakeProvider, type FakeProvider } from "../helpers/fake-provider.js";
import { SECRET, pathOf, signIn, standardProvider } from "../helpers/apps.js";
import * as githubLogin from "../../examples/github-login.js";
import * as toggle from "../../examples/login-logout-toggle.js";
import * as callApi from "../../examples/call-api-with-token.js";
import * as saveRestore from "../../examples/save-restore-token.js";
import * as rememberMe from "../../examples/remember-me.js";
import * as completePage from "../../examples/custom-complete-page.js";
import * as customProvider from "../../examples/custom-provider.js";
import * as rateLimited from "../../examples/rate-limit.js";

let fake: FakeProvider;
beforeAll(async () => {
  fake = await startFakeProvider({ teams: 2 });
});
afterAll(() => fake.close());

const github = () =>
  new GitHubOAuthProvider({
    clientId: fake.clientId,
    clientSecret: fake.clientSecret,
    redirectUrl: "http://127.0.0.1/oauth_callback",
    authorizationEndpoint: `${fake.url}/login/oauth/authorize`,
    tokenEndpoint: `${fake.url}/login/oauth/access_token`,
    apiUrl: `${fake.url}/api`,
  });

describe("examples/github-login.ts", () => {
  it("redirects to GitHub's real authorize endpoint by default", async () => {
    vi.stubEnv("GITHUB_CLIENT_ID", "Iv1.example");
    vi.stubEnv("GITHUB_CLIENT_SECRET", "example-secret");
    vi.stubEnv("SESSION_SECRET", SECRET);
    try {
      const { app } = githubLogin.createApp();
      const res = await request(app).get("/login/github");
      expect(res.status).toBe(302);
      expect(res.headers["location"]).toMatch(/^https:\/\/github\.com\/login\/oauth\/authorize\?response_type=code&client_id=Iv1\.example&/);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it("signs in and logs the user id, never the token", async () => {
    const lines: string[] = [];
    const spy = vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => void lines.push(args.join(" ")));
    try {
      const { app } = githubLogin.createApp({ provider: github(), secret: SECRET });
      const agent = request.agent(app);
      await signIn(agent, fake, "/login/github");
      expect((await agent.get("/")).text).toContain("Signed in as octocat");
      expect(lines).toContain("User ID: 1001");
      expect(lines.join("\n")).not.toMatch(/gh[ou]_|access_token/);
    } finally {
      spy.mockRestore();
    }
  });
});

describe("examples/login-logout-toggle.ts", () => {
  it("toggles between login and user details, with public_repo requested", async () => {
    const { app, log } = toggle.createApp({ provider: github(), secret: SECRET });
    const agent = request.agent(app);
    expect((await agent.get("/")).text).toContain("Login with GitHub");
    const start = await agent.get("/signin");
    expect(new URL(start.headers["location"] as string).searchParams.get("scope")).toBe("public_repo read:user user:email");
    await agent.get(pathOf(await fake.authorize(start.headers["location"] as string)));
    const page = await agent.get("/");
    expect(page.text).toContain("Login: octocat");
    expect(page.text).toContain("Email: octocat@example.com");
    await agent.post("/logout").set("Accept", "text/html");
    expect((await agent.get("/")).text).toContain("Login with GitHub");
    expect(log).toEqual(["login github 1001", "logout github"]);
  });
});

describe("examples/call-api-with-token.ts", () => {
  it("calls the API with a fresh access token", async () => {
    const app = callApi.createApp({ provider: github(), secret: SECRET, apiUrl: `${fake.url}/api` });
    const agent = request.agent(app);
    await signIn(agent, fake, "/login/github");
    const before = fake.requests.length;
    const repos = await agent.get("/repos");
    // The fake has no /user/repos: it answers 404 JSON; what matters is the bearer header it saw.
    const call = fake.requests.slice(before).find((r) => r.path === "/api/user/repos");
    expect(call?.headers["authorization"]).toMatch(/^Bearer .+/);
    expect(repos.status).toBe(502);
    expect(repos.body).toEqual({ error: "GitHub answered 404" });
  });
});

describe("examples/save-restore-token.ts", () => {
  it("saves the encrypted token, restores it in a new browser session, signs out", async () => {
    const { app } = saveRestore.createApp({ provider: standardProvider(fake), secret: SECRET, secretKey: "my app secret key" });
    const first = request.agent(app);
    await signIn(first, fake, "/login/idp");
    const saved = await first.get("/save");
    expect(saved.text).toBe("saved");
    const cookie = (saved.headers["set-cookie"] as unknown as string[]).find((c) => c.startsWith("myapp.auth_token="));
    expect(cookie).toMatch(/HttpOnly/);
    const value = cookie!.split(";")[0]!;
    const second = request.agent(app);
    const restored = await second.get("/restore").set("Cookie", value);
    expect(restored.body).toEqual({ user: "1001" });
    // One character in the middle flipped (appending characters is not tampering: Flet's lenient
    // base64 decoding, which decrypt follows, ignores what comes after the padding).
    const middle = Math.floor(value.length / 2);
    const flipped = `${value.slice(0, middle)}${value[middle] === "A" ? "B" : "A"}${value.slice(middle + 1)}`;
    const tampered = await request(app).get("/restore").set("Cookie", flipped);
    expect(tampered.status).toBe(401);
    expect(tampered.body).toEqual({ error: "decrypt_failed" });
  }, 20_000);
});

describe("examples/remember-me.ts", () => {
  it("signs a returning browser in from the remember-me cookie", async () => {
    const { app } = rememberMe.createApp({ provider: standardProvider(fake), secret: SECRET, rememberKey: "remember-me-key-0123456789abcdef0123" });
    const agent = request.agent(app);
    const done = await signIn(agent, fake, "/login/idp?remember=1");
    const remember = (done.headers["set-cookie"] as unknown as string[]).find((c) => c.startsWith("flet-auth.remember="));
    expect(remember).toMatch(/HttpOnly/);
    const fresh = await request(app).get("/").set("Cookie", remember!.split(";")[0]!);
    expect(fresh.text).toContain("Welcome back, The Octocat");
  }, 20_000);
});

describe("examples/custom-complete-page.ts", () => {
  it("serves the custom page, the template function and the same-tab flow", async () => {
    const app = completePage.createApp({ provider: standardProvider(fake), secret: SECRET });
    const a = request.agent(app);
    const popup = await signIn(a, fake, "/login-popup");
    expect(popup.status).toBe(200);
    expect(popup.text).toContain("<title>Signed in to MyApp</title>");
    const b = request.agent(app);
    const branded = await signIn(b, fake, "/login-branded");
    expect(branded.text).toBe("<h1>Welcome via idp</h1>");
    const c = request.agent(app);
    const denied = await signIn(c, fake, "/login-branded", { deny: true });
    expect(denied.status).toBe(403);
    expect(denied.text).toMatch(/^<h1>Sign-in failed: /);
    const d = request.agent(app);
    const sameTab = await signIn(d, fake, "/login-same-tab");
    expect(sameTab.status).toBe(303);
    expect(sameTab.headers["location"]).toBe("/");
  }, 20_000);
});

describe("examples/custom-provider.ts", () => {
  it("configures LinkedIn like the guide and keeps several providers in one session", async () => {
    const real = customProvider.linkedInProvider({ clientId: "li", clientSecret: "s" });
    expect(real.authorizationEndpoint).toBe("https://www.linkedin.com/oauth/v2/authorization");
    const linkedin = customProvider.linkedInProvider({
      clientId: fake.clientId,
      clientSecret: fake.clientSecret,
      authorizationEndpoint: `${fake.url}/authorize`,
      tokenEndpoint: `${fake.url}/token`,
      userEndpoint: `${fake.url}/userinfo`,
      userId: (u) => String(u["sub"]),
      redirectUrl: "http://127.0.0.1/oauth_callback",
    });
    const google = standardProvider(fake);
    const app = customProvider.createApp({ linkedin, google, secret: SECRET });
    const agent = request.agent(app);
    await signIn(agent, fake, "/login/linkedin");
    await signIn(agent, fake, "/login/google");
    expect((await agent.get("/")).body).toEqual({ current: "google", signedIn: { linkedin: "1001", google: "1001" } });
  }, 20_000);
});

describe("examples/rate-limit.ts", () => {
  const rememberKey = "remember-me-key-0123456789abcdef0123";

  it("the N+1th login request of the window gets 429; the callback, restores and other routes keep their own budgets", async () => {
    const { app } = rateLimited.createApp({ provider: standardProvider(fake), secret: SECRET, rememberKey, limit: 3 });
    for (let i = 0; i < 3; i++) expect((await request(app).get("/login/idp")).status).toBe(302);
    const limited = await request(app).get("/login/idp");
    expect(limited.status).toBe(429);
    expect(limited.headers["location"]).toBeUndefined();
    // Other routes are unaffected…
    for (let i = 0; i < 5; i++) expect((await request(app).get("/")).status).toBe(200);
    // …and the callback has its own budget (an unknown state is fletAuth's 400, not the limiter's 429).
    expect((await request(app).get("/oauth_callback?state=x&code=y")).status).toBe(400);
  });

  it("limits remember-me restores (remember-me cookie, no session), not signed-in requests", async () => {
    const { app } = rateLimited.createApp({ provider: standardProvider(fake), secret: SECRET, rememberKey, limit: 2 });
    const agent = request.agent(app);
    await signIn(agent, fake, "/login/idp");
    // A forged cookie still costs a decryption attempt: the limiter counts it.
    const restore = () => request(app).get("/").set("Cookie", "flet-auth.remember=forged");
    expect((await restore()).status).toBe(200);
    expect((await restore()).status).toBe(200);
    expect((await restore()).status).toBe(429);
    for (let i = 0; i < 5; i++) {
      const page = await agent.get("/");
      expect(page.status).toBe(200);
      expect(page.text).toContain("Signed in");
    }
  });
});
