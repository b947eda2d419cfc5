/**
 * The demo app (examples/demo/app.ts) in a real browser: Debian's Chromium, driven by
 * playwright-core, against the in-process demo identity provider. Same-tab and popup sign-in,
 * a custom complete page, a denied consent and logout — each scenario in a fresh context.
 */
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDemo, type Demo } from "../../examples/demo/app.js";
import { DEFAULT_DEMO_USER } from "../../examples/demo/idp.js";
import { CHROMIUM_PATH, STEP_TIMEOUT_MS, hasChromium, launchChromium, newContext } from "../helpers/browser-chromium.js";
import { signInAtDemoIdp } from "../helpers/browser-idp.js";

const RESULTS_DIR = path.resolve("test-results");
/** Screenshots of the issue-12 scenarios (test-results/ is ignored by git). */
const SCREENSHOTS_DIR = path.join(RESULTS_DIR, "screenshots");

/** Saves a full-page screenshot as test-results/screenshots/<name>.png. */
async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS_DIR, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS_DIR, `${name}.png`), fullPage: true });
}

/** What a person sees: the rendered text of the page (hidden elements excluded), whitespace folded. */
async function visibleText(page: Page): Promise<string> {
  return (await page.locator("body").innerText()).replace(/\s+/g, " ").trim();
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/** `npm start`'s script (tsx examples/demo/server.ts) as a child process, stopped when the test finishes. */
function startDemoServer(env: Record<string, string>): { urls: Promise<{ app: string; idp: string }>; stop(): Promise<void> } {
  const child = spawn(process.execPath, ["--import", "tsx", "examples/demo/server.ts"], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
  };
  let out = "";
  let err = "";
  child.stderr.on("data", (chunk: Buffer) => void (err += chunk.toString()));
  const urls = new Promise<{ app: string; idp: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the demo did not print its URLs within ${STEP_TIMEOUT_MS} ms:\n${out}\n${err}`)), STEP_TIMEOUT_MS);
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const app = /flet-auth demo on (http:\/\/\S+)/.exec(out)?.[1];
      const idp = /demo identity provider on (http:\/\/[^\s(]+)/.exec(out)?.[1];
      if (app === undefined || idp === undefined) return;
      clearTimeout(timer);
      resolve({ app, idp });
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the demo exited (${code}) before printing its URLs:\n${out}\n${err}`));
    });
  });
  return { urls, stop };
}

/** Counts main-frame navigations of `page` from now on (a popup login must cause none). */
function countNavigations(page: Page): { count(): number } {
  let n = 0;
  page.on("framenavigated", (frame) => {
    if (frame === page.mainFrame()) n += 1;
  });
  return { count: () => n };
}

/** Clicks the demo's popup button and returns the popup page. */
async function openLoginPopup(context: BrowserContext, page: Page): Promise<Page> {
  const [popup] = await Promise.all([
    context.waitForEvent("page"),
    page.getByRole("button", { name: "Login with Demo (popup)" }).click(),
  ]);
  return popup;
}
const SCENARIO_TIMEOUT_MS = 90_000;

if (!hasChromium) {
  console.warn(`[e2e] ${CHROMIUM_PATH} is missing: the browser suite is SKIPPED (apt-get install chromium to run it).`);
}

describe.skipIf(!hasChromium)("demo app in Chromium", () => {
  let browser: Browser | undefined;
  let demo: Demo | undefined;
  const logs: string[] = [];
  const started = performance.now();

  beforeAll(async () => {
    [browser, demo] = await Promise.all([
      launchChromium(),
      createDemo({ port: 0, host: "localhost", log: (line) => logs.push(line) }),
    ]);
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled([browser?.close(), demo?.close()]);
    console.log(`[e2e] browser suite took ${((performance.now() - started) / 1000).toFixed(2)} s; screenshots in ${path.relative(process.cwd(), SCREENSHOTS_DIR)}`);
  });

  function app(): Demo {
    if (!demo) throw new Error("the demo did not start");
    return demo;
  }

  /** Runs a scenario in a fresh browser context, closed afterwards whatever happens. */
  async function inFreshContext(scenario: (context: BrowserContext, page: Page) => Promise<void>): Promise<void> {
    if (!browser) throw new Error("Chromium did not start");
    const context = await newContext(browser);
    try {
      await scenario(context, await context.newPage());
    } finally {
      await context.close();
    }
  }

  async function status(context: BrowserContext): Promise<{ signedIn: boolean; user: { name?: string } | null }> {
    const res = await context.request.get(`${app().url}/flet-auth/status`);
    expect(res.status()).toBe(200);
    return (await res.json()) as { signedIn: boolean; user: { name?: string } | null };
  }

  async function shouldShowSignedIn(page: Page): Promise<void> {
    await page.locator("#signed-in").waitFor({ state: "visible" });
    expect(await page.locator("#user-name").textContent()).toBe(DEFAULT_DEMO_USER.name);
    expect(await page.locator("#user-email").textContent()).toBe(DEFAULT_DEMO_USER.email);
    expect(await page.locator("#user-id").textContent()).toBe(DEFAULT_DEMO_USER.id);
    expect(await page.locator("#user-groups li").allTextContents()).toEqual(DEFAULT_DEMO_USER.groups);
    expect(await page.locator("#signed-out").isHidden()).toBe(true);
  }

  async function shouldShowSignedOut(page: Page): Promise<void> {
    await page.locator("#signed-out").waitFor({ state: "visible" });
    expect(await page.locator("#signed-in").isHidden()).toBe(true);
    expect(await page.getByText(DEFAULT_DEMO_USER.name).count()).toBe(0);
  }

  /** Same-tab sign-in from the home page, back on "/" signed in. */
  async function signInSameTab(page: Page, decision: "allow" | "deny" = "allow"): Promise<void> {
    await page.goto(`${app().url}/`);
    await page.getByRole("link", { name: "Login with Demo", exact: true }).click();
    await signInAtDemoIdp(page, app().idp, { decision });
  }

  it("same tab: Login with Demo, sign in and allow, back home signed in", async () => {
    await inFreshContext(async (context, page) => {
      await signInSameTab(page);
      await page.waitForURL(`${app().url}/`);
      await shouldShowSignedIn(page);
      // The callback's redirect dropped code and state from the address bar.
      expect(page.url()).toBe(`${app().url}/`);
      expect((await status(context)).signedIn).toBe(true);

      await page.getByRole("button", { name: "Call API with token" }).click();
      await page.locator("#api-result", { hasText: DEFAULT_DEMO_USER.email }).waitFor();
      const api = JSON.parse((await page.locator("#api-result").textContent()) ?? "{}") as { status?: number; profile?: { sub?: string } };
      expect(api.status).toBe(200);
      expect(api.profile?.sub).toBe(DEFAULT_DEMO_USER.id);

      mkdirSync(RESULTS_DIR, { recursive: true });
      await page.screenshot({ path: path.join(RESULTS_DIR, "signed-in.png"), fullPage: true });
      expect(logs).toContain(`login: provider=demo user=${DEFAULT_DEMO_USER.id} email=${DEFAULT_DEMO_USER.email} via callback`);
    });
  }, SCENARIO_TIMEOUT_MS);

  it("popup: the popup signs in, closes itself, and the opener updates without navigating", async () => {
    await inFreshContext(async (context, page) => {
      await page.goto(`${app().url}/`);
      await shouldShowSignedOut(page);
      await page.evaluate(() => {
        (globalThis as unknown as { __marker?: string }).__marker = "no-reload";
      });
      const navigations = countNavigations(page);
      const popup = await openLoginPopup(context, page);
      const popupClosed = popup.waitForEvent("close");
      await signInAtDemoIdp(popup, app().idp);
      await popupClosed;

      await shouldShowSignedIn(page);
      expect(await page.evaluate(() => (globalThis as unknown as { __marker?: string }).__marker)).toBe("no-reload");
      expect(navigations.count()).toBe(0);
      expect(page.url()).toBe(`${app().url}/`);
      expect(await page.locator("#login-error").isHidden()).toBe(true);
      expect((await status(context)).signedIn).toBe(true);
    });
  }, SCENARIO_TIMEOUT_MS);

  it("popup under COOP: the IdP's Cross-Origin-Opener-Policy severs the opener, yet the popup signs in and the opener updates through the BroadcastChannel, with no early popup_closed", async () => {
    await inFreshContext(async (context, page) => {
      // Many IdPs send COOP: same-origin; the demo IdP does not, so add it to the IdP's responses.
      // maxRedirects 0 keeps the IdP's redirects the browser's. Playwright routes see only the
      // first request of a redirect chain, so COOP first lands on the login form's 303; Chromium
      // carries it through the redirects and severs the opener when the consent page commits.
      const idpOrigin = new URL(app().idp.issuer).origin;
      let coopResponses = 0;
      await context.route(
        (url) => url.origin === idpOrigin,
        async (route) => {
          const response = await route.fetch({ maxRedirects: 0 });
          coopResponses += 1;
          await route.fulfill({ response, headers: { ...response.headers(), "cross-origin-opener-policy": "same-origin" } });
        },
      );

      await page.goto(`${app().url}/`);
      await shouldShowSignedOut(page);
      type Probe = { __marker?: string; __logins?: unknown[]; __channel?: unknown[] };
      await page.evaluate(() => {
        const w = globalThis as unknown as Probe;
        w.__marker = "no-reload";
        w.__logins = [];
        w.__channel = [];
        // Every outcome the helper reports to the page, in order...
        const doc = (globalThis as unknown as { document: { addEventListener(type: string, listener: (event: { detail?: unknown }) => void): void } }).document;
        doc.addEventListener("flet-auth:login", (event) => w.__logins!.push(event.detail));
        // ...and what the complete page posts on the same-origin channel.
        const channel = new BroadcastChannel("flet-auth");
        channel.onmessage = (event) => w.__channel!.push(event.data);
      });
      const helperReported = (): Promise<boolean> => page.evaluate(() => ((globalThis as unknown as Probe).__logins ?? []).length > 0);
      // Until the helper has reported, the opener's status polls answer "signed out": only the
      // complete page's BroadcastChannel signal can finish this login (the path under test).
      await page.route(`${app().url}/flet-auth/status`, async (route) => {
        if (await helperReported()) return route.continue();
        await route.fulfill({ status: 200, contentType: "application/json", body: JSON.stringify({ signedIn: false, provider: null, user: null, providers: [] }) });
      });
      const navigations = countNavigations(page);
      const popup = await openLoginPopup(context, page);
      const popupClosed = popup.waitForEvent("close");
      await popup.waitForURL((url) => url.origin === idpOrigin && url.pathname.startsWith("/interaction/"));
      await popup.locator("#login").fill(DEFAULT_DEMO_USER.email);
      await popup.locator("#password").fill(DEFAULT_DEMO_USER.password);
      await popup.locator("button#sign-in").click();
      const allow = popup.locator("button#allow");
      await allow.waitFor({ state: "visible" });
      // COOP took effect: the popup lost its opener...
      expect(await popup.evaluate(() => (globalThis as unknown as { opener: unknown }).opener === null)).toBe(true);
      // ...and the opener, seeing popup.closed read true, asks the server while the user is still
      // at the IdP: the helper must keep waiting instead of reporting popup_closed.
      await page.waitForResponse((res) => new URL(res.url()).pathname === "/flet-auth/status");
      await allow.click();
      await popupClosed;

      // The helper reports once, with success (an early popup_closed would come first).
      await page.waitForFunction(() => ((globalThis as unknown as Probe).__logins ?? []).length > 0);
      const probe = await page.evaluate(() => {
        const w = globalThis as unknown as Probe;
        return { marker: w.__marker, logins: w.__logins, channel: w.__channel };
      });
      expect(probe.logins).toEqual([{ ok: true, provider: "demo", error: "" }]);
      await shouldShowSignedIn(page);
      expect(probe.channel).toContainEqual(expect.objectContaining({ type: "flet-auth:login", ok: true, provider: "demo" }));
      expect(probe.marker).toBe("no-reload");
      expect(navigations.count()).toBe(0);
      expect(page.url()).toBe(`${app().url}/`);
      expect(await page.locator("#login-error").isHidden()).toBe(true);
      expect(coopResponses).toBeGreaterThan(0);
      expect((await status(context)).signedIn).toBe(true);
    });
  }, SCENARIO_TIMEOUT_MS);

  it("custom complete page: /login-custom answers the app's own page", async () => {
    await inFreshContext(async (context, page) => {
      await page.goto(`${app().url}/login-custom`);
      await signInAtDemoIdp(page, app().idp);
      const heading = page.locator("#custom-ok");
      await heading.waitFor({ state: "visible" });
      expect(await heading.textContent()).toBe("Welcome back via demo");
      expect(new URL(page.url()).pathname).toBe("/oauth_callback");
      expect((await status(context)).signedIn).toBe(true);
    });
  }, SCENARIO_TIMEOUT_MS);

  it("provider error: denied consent shows a clear 403 page and leaves the user signed out", async () => {
    await inFreshContext(async (context, page) => {
      const callback = page.waitForResponse((res) => res.url().startsWith(`${app().url}/oauth_callback`));
      await signInSameTab(page, "deny");
      const res = await callback;
      expect(res.status()).toBe(403);
      await page.getByRole("heading", { name: "Sign-in failed" }).waitFor();
      const text = (await page.locator("body").textContent()) ?? "";
      expect(text).toMatch(/denied/i);
      expect(text).not.toMatch(/signed in/i);
      expect(text).not.toContain(DEFAULT_DEMO_USER.name);

      await page.goto(`${app().url}/`);
      await shouldShowSignedOut(page);
      expect((await status(context)).signedIn).toBe(false);
      expect(logs.some((line) => line.startsWith("login failed: provider=demo error=access_denied"))).toBe(true);
    });
  }, SCENARIO_TIMEOUT_MS);

  it("remember me: the checkbox keeps the sign-in across a lost session", async () => {
    await inFreshContext(async (context, page) => {
      await page.goto(`${app().url}/`);
      await page.getByLabel("Remember me").check();
      await page.getByRole("link", { name: "Login with Demo", exact: true }).click();
      await signInAtDemoIdp(page, app().idp);
      await page.waitForURL(`${app().url}/`);
      await shouldShowSignedIn(page);
      expect((await context.cookies(app().url)).map((c) => c.name)).toContain("flet-auth.remember");

      await context.clearCookies({ name: "flet-auth.sid" });
      await page.reload();
      await shouldShowSignedIn(page);
      expect(logs).toContain(`login: provider=demo user=${DEFAULT_DEMO_USER.id} email=${DEFAULT_DEMO_USER.email} via rememberMe`);
    });
  }, SCENARIO_TIMEOUT_MS);

  it("logout: Logout signs out here and at the demo identity provider (RP-initiated logout), then the next Login shows the provider's form again", async () => {
    await inFreshContext(async (context, page) => {
      await signInSameTab(page);
      await page.waitForURL(`${app().url}/`);
      await shouldShowSignedIn(page);

      // A same-origin form POST (Sec-Fetch-Site: same-origin; Origin: null under Referrer-Policy:
      // no-referrer). The demo signs out at its provider too: the answer sends the browser to the
      // provider's end-session page, whose confirmation form appears.
      const visited: string[] = [];
      page.on("framenavigated", (frame) => {
        if (frame === page.mainFrame()) visited.push(frame.url());
      });
      await page.getByRole("button", { name: "Logout" }).click();
      // Signed out here before anything happens at the provider.
      expect(logs).toContain(`logout: provider=demo user=${DEFAULT_DEMO_USER.id} reason=logout`);
      // The provider's end-session page (it may ask to confirm), then back through flet-auth's
      // post-logout route to the home page, signed out.
      const idpOrigin = new URL(app().idp.issuer).origin;
      const home = `${app().url}/`;
      await page.waitForURL((url) => url.origin === idpOrigin);
      await page.locator("#logout-yes").click();
      await page.waitForURL(home);
      expect(visited.some((url) => new URL(url).pathname === "/session/end" || new URL(url).origin === idpOrigin), visited.join("\n")).toBe(true);
      expect((await status(context)).signedIn).toBe(false);
      await shouldShowSignedOut(page);
      await page.screenshot({ path: "test-results/screenshots/after-idp-logout.png" }).catch(() => undefined);
      // The provider's session is gone: "Login" shows its sign-in form again, not a silent consent.
      await page.getByRole("link", { name: "Login with Demo", exact: true }).click();
      await page.getByLabel("Email").waitFor();
      expect(new URL(page.url()).origin).toBe(new URL(app().idp.issuer).origin);
    });
  }, SCENARIO_TIMEOUT_MS);
  // Issue 12, item 7: the demo's first hour. One scenario per point, each with a screenshot.

  it("demo identity provider port: DEMO_IDP_PORT chooses it and npm start prints its URL", async ({ onTestFinished }) => {
    const idpPort = await freePort();
    const demoProcess = startDemoServer({ PORT: "0", DEMO_IDP_PORT: String(idpPort) });
    onTestFinished(() => demoProcess.stop());
    const printed = await demoProcess.urls;
    expect(printed.idp).toBe(`http://localhost:${idpPort}`);
    await inFreshContext(async (_context, page) => {
      await page.goto(`${printed.app}/`);
      await page.getByRole("link", { name: "Login with Demo", exact: true }).click();
      await page.waitForURL((url) => url.port === String(idpPort) && url.pathname.startsWith("/interaction/"));
      await screenshot(page, "idp-port");
      expect(new URL(page.url()).origin).toBe(printed.idp);
      expect(await visibleText(page)).toContain("Sign in to continue to flet-auth-demo");
    });
  }, SCENARIO_TIMEOUT_MS);

  it("demo identity provider form: the field wants an e-mail address and says so", async () => {
    await inFreshContext(async (_context, page) => {
      await page.goto(`${app().url}/`);
      await page.getByRole("link", { name: "Login with Demo", exact: true }).click();
      await page.waitForURL((url) => url.origin === new URL(app().idp.issuer).origin);
      expect(await page.getByLabel("Username").count()).toBe(0);
      await page.getByLabel("Email").fill(DEFAULT_DEMO_USER.email);
      await page.getByLabel("Password").fill("not-the-password");
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.getByRole("alert").waitFor();
      await screenshot(page, "idp-email-label");
      const text = await visibleText(page);
      expect(text).toContain("Email");
      expect(text).not.toContain("Username");
      expect(text).toContain("Invalid email or password.");
      // The label is the accessible name of the field the e-mail goes into.
      expect(await page.getByLabel("Email").inputValue()).toBe(DEFAULT_DEMO_USER.email);
    });
  }, SCENARIO_TIMEOUT_MS);

  it("credentials hint: shown while signed out, hidden once signed in", async () => {
    await inFreshContext(async (_context, page) => {
      const hint = `Sign in at the local identity provider as ${DEFAULT_DEMO_USER.email} / ${DEFAULT_DEMO_USER.password}.`;
      await page.goto(`${app().url}/`);
      expect(await visibleText(page)).toContain(hint);
      await page.getByRole("link", { name: "Login with Demo", exact: true }).click();
      await signInAtDemoIdp(page, app().idp);
      await page.waitForURL(`${app().url}/`);
      await shouldShowSignedIn(page);
      await screenshot(page, "signed-in-without-hint");
      const text = await visibleText(page);
      expect(text).toContain(`Signed in with demo as ${DEFAULT_DEMO_USER.name}.`);
      expect(text).not.toContain(hint);
      expect(text).not.toContain(`${DEFAULT_DEMO_USER.email} / ${DEFAULT_DEMO_USER.password}`);
    });
  }, SCENARIO_TIMEOUT_MS);

  it("Deny, then Return to the application: the home page says why the sign-in did not complete, once", async () => {
    await inFreshContext(async (_context, page) => {
      await signInSameTab(page, "deny");
      await page.getByRole("heading", { name: "Sign-in failed" }).waitFor();
      await page.getByRole("link", { name: "Return to the application" }).click();
      await page.waitForURL(`${app().url}/`);
      await shouldShowSignedOut(page);
      await screenshot(page, "home-after-deny");
      const message = "Sign-in with Demo did not complete: End-User denied the authorization request (access_denied).";
      expect(await page.getByRole("alert").innerText()).toBe(message);
      expect(await visibleText(page)).toContain(message);
      // Said once: the next visit is clean.
      await page.reload();
      await shouldShowSignedOut(page);
      expect(await visibleText(page)).not.toContain("did not complete");
    });
  }, SCENARIO_TIMEOUT_MS);

  it("error page and custom complete page: styled like the demo (a card on a light background)", async () => {
    /** The demo's look: a white card with a shadow on the light grey page background. */
    async function shouldLookLikeTheDemo(page: Page): Promise<void> {
      const look = await page.evaluate(() => {
        const doc = (globalThis as unknown as { document: { body: object; querySelector(s: string): object | null } }).document;
        const css = (globalThis as unknown as { getComputedStyle(e: object): { backgroundColor: string; boxShadow: string; maxWidth: string } }).getComputedStyle;
        const main = doc.querySelector("main");
        return {
          page: css(doc.body).backgroundColor,
          card: main ? css(main).backgroundColor : "",
          shadow: main ? css(main).boxShadow : "",
          link: css(doc.querySelector("a") ?? doc.body).backgroundColor,
        };
      });
      expect(look).toMatchObject({ page: "rgb(249, 250, 251)", card: "rgb(255, 255, 255)", link: "rgb(37, 99, 235)" });
      expect(look.shadow).not.toBe("none");
    }
    await inFreshContext(async (_context, page) => {
      await signInSameTab(page, "deny");
      await page.getByRole("heading", { name: "Sign-in failed" }).waitFor();
      await screenshot(page, "error-page");
      expect(await visibleText(page)).toBe(
        "Sign-in failed Sign-in with demo did not complete: End-User denied the authorization request. Return to the application",
      );
      await shouldLookLikeTheDemo(page);
    });
    await inFreshContext(async (_context, page) => {
      await page.goto(`${app().url}/login-custom`);
      await signInAtDemoIdp(page, app().idp);
      await page.locator("#custom-ok").waitFor();
      await screenshot(page, "custom-complete-page");
      expect(await visibleText(page)).toBe(
        "Welcome back via demo This is the app's own complete page (the completePageHtml option). Back to the demo",
      );
      await shouldLookLikeTheDemo(page);
    });
  }, SCENARIO_TIMEOUT_MS);

  it("window.close(): a same-tab error page stays without a console warning; a popup's error page still closes", async () => {
    await inFreshContext(async (_context, page) => {
      const warnings: string[] = [];
      page.on("console", (message) => {
        if (message.type() === "warning" || message.type() === "error") warnings.push(message.text());
      });
      await signInSameTab(page, "deny");
      await page.getByRole("heading", { name: "Sign-in failed" }).waitFor();
      await page.waitForLoadState("load");
      // A round trip after the page's script ran: its console messages have arrived.
      expect(await page.evaluate(() => 1 + 1)).toBe(2);
      await screenshot(page, "same-tab-error-stays");
      expect(await visibleText(page)).toContain("Sign-in failed");
      expect(warnings.filter((w) => /close/i.test(w))).toEqual([]);
    });
    // The popup flow (a fresh browser: not yet signed in at the identity provider): the error
    // page has an opener, tells it, and closes.
    await inFreshContext(async (context, page) => {
      await page.goto(`${app().url}/`);
      const forgotten = page.waitForResponse((res) => new URL(res.url()).pathname === "/login-error" && res.request().method() === "DELETE");
      forgotten.catch(() => undefined); // awaited below; a failed step before must not leave it unhandled
      const popup = await openLoginPopup(context, page);
      const popupClosed = popup.waitForEvent("close");
      popupClosed.catch(() => undefined);
      await signInAtDemoIdp(popup, app().idp, { decision: "deny" });
      await popupClosed;
      await page.locator("#login-error").waitFor({ state: "visible" });
      await screenshot(page, "popup-error-closed");
      expect(await page.locator("#login-error").innerText()).toBe("Sign-in did not complete: access_denied.");
      // Shown on the page already: the next visit does not repeat it.
      expect((await forgotten).status()).toBe(204);
      await page.reload();
      await shouldShowSignedOut(page);
      expect(await visibleText(page)).not.toContain("did not complete");
    });
  }, SCENARIO_TIMEOUT_MS);
});
