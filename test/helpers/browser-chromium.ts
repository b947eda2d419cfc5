/**
 * Debian's Chromium driven by playwright-core for the e2e suites: one browser per suite, a fresh
 * context (own cookies, storage and temporary profile state) per scenario.
 */
import { existsSync } from "node:fs";
import { chromium, type Browser, type BrowserContext } from "playwright-core";

export const CHROMIUM_PATH = "/usr/bin/chromium";

/** Every wait of a scenario (selector, URL, navigation) gives up after this long. */
export const STEP_TIMEOUT_MS = 20_000;

/** False when the browser is not installed: the suite is then skipped, loudly. */
export const hasChromium = existsSync(CHROMIUM_PATH);

/** Headless Chromium without background traffic (updates, sync, QUIC) that could slow or flake a run. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
      "--disable-sync",
      "--disable-quic",
    ],
  });
}

/** A fresh, isolated browser context with the suite's step timeouts. */
export async function newContext(browser: Browser): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 1000, height: 760 } });
  context.setDefaultTimeout(STEP_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(STEP_TIMEOUT_MS);
  return context;
}
