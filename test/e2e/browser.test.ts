/**
 * The demo app (examples/demo/app.ts) in a real browser: Debian's Chromium, driven by
 * playwright-core, against the in-process demo identity provider. Same-tab and popup sign-in,
 * a custom complete page, a denied consent and logout — each scenario in a fresh context.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDemo, type Demo } from "../../examples/demo/app.js";
import { DEFAULT_DEMO_USER } from "../../examples/demo/idp.js";
import { CHROMIUM_PATH, hasChromium, launchChromium, newContext } from "../helpers/browser-chromium.js";
import { signInAtDemoIdp } from "../helpers/browser-idp.js";

const RESULTS_DIR = path.resolve("test-results");
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
    console.log(`[e2e] browser suite took ${((performance.now() - started) / 1000).toFixed(2)} s`);
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
      let openerNavigations = 0;
      page.on("framenavigated", (frame) => {
        if (frame === page.mainFrame()) openerNavigations += 1;
      });

      const [popup] = await Promise.all([
        context.waitForEvent("page"),
        page.getByRole("button", { name: "Login with Demo (popup)" }).click(),
      ]);
      const popupClosed = popup.waitForEvent("close");
      await signInAtDemoIdp(popup, app().idp);
      await popupClosed;

      await shouldShowSignedIn(page);
      expect(await page.evaluate(() => (globalThis as unknown as { __marker?: string }).__marker)).toBe("no-reload");
      expect(openerNavigations).toBe(0);
      expect(page.url()).toBe(`${app().url}/`);
      expect(await page.locator("#login-error").isHidden()).toBe(true);
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

  it("logout: after signing in, Logout brings the home page back signed out", async () => {
    await inFreshContext(async (context, page) => {
      await signInSameTab(page);
      await page.waitForURL(`${app().url}/`);
      await shouldShowSignedIn(page);

      const [logout] = await Promise.all([
        page.waitForResponse((res) => res.url() === `${app().url}/logout` && res.request().method() === "POST"),
        page.getByRole("button", { name: "Logout" }).click(),
      ]);
      // A same-origin form POST (Sec-Fetch-Site: same-origin; Origin: null under Referrer-Policy: no-referrer).
      const answer = page.locator("[role=alert]");
      const why = (await answer.count()) > 0 ? await answer.first().textContent() : "";
      expect(logout.status(), `POST /logout was refused: ${why ?? ""}`).toBe(303);
      await page.waitForURL(`${app().url}/`);
      await shouldShowSignedOut(page);
      expect((await status(context)).signedIn).toBe(false);
      expect(logs).toContain(`logout: provider=demo user=${DEFAULT_DEMO_USER.id} reason=logout`);
    });
  }, SCENARIO_TIMEOUT_MS);
});
