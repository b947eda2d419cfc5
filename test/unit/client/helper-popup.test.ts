/**
 * The browser helper (lib/client/helper.ts) run in node:vm with a minimal fake window and
 * document: it defines `window.fletAuth`, opens the login in a popup, and settles with what the
 * complete page reports — through `postMessage` from its own origin only, or the BroadcastChannel.
 * The complete page's own script runs against the same fake windows, so this is the handshake the
 * Chromium suite checks, in-process.
 */
import { runInNewContext } from "node:vm";
import { beforeEach, describe, expect, it, vi } from "vitest";
type Module = typeof import("../../../lib/client/helper.js");
let BROWSER_HELPER: Module["BROWSER_HELPER"];
// Imported afresh inside each test: the module's tables (module-level constants) are then evaluated
// within a test, so that mutation testing credits these tests with them (docs/testing.md, Scores).
beforeEach(async () => {
  vi.resetModules();
  ({ BROWSER_HELPER } = await import("../../../lib/client/helper.js"));
});
import { renderCompletePage, type RawOutcome } from "../../../lib/pages/complete-page.js";

const ORIGIN = "https://app.example";

type Listener = (event: { origin: string; data: unknown }) => void;

type PopupLogin = (provider: string, options?: Record<string, unknown>) => PromiseLike<{ ok: boolean; provider: string; error: string }>;

/** A page that loaded client.js; `open` answers window.open (null: the popup was blocked). */
function browser(open: "popup" | "blocked" = "popup") {
  const listeners = new Set<Listener>();
  const channels = new Set<FakeBroadcastChannel>();
  const opened: string[] = [];
  const clone = (data: unknown): unknown => JSON.parse(JSON.stringify(data));
  class FakeBroadcastChannel {
    onmessage: ((event: { data: unknown }) => void) | null = null;
    readonly name: string;
    constructor(name: string) {
      this.name = name;
      channels.add(this);
    }
    postMessage(data: unknown) {
      for (const other of channels) if (other !== this && other.name === this.name) other.onmessage?.({ data: clone(data) });
    }
    close() {
      channels.delete(this);
    }
  }
  const popup = { closed: false };
  const window: Record<string, unknown> = {
    screenX: 0,
    screenY: 0,
    outerWidth: 1280,
    outerHeight: 800,
    location: { origin: ORIGIN, href: `${ORIGIN}/` },
    addEventListener: (type: string, listener: Listener) => type === "message" && listeners.add(listener),
    removeEventListener: (type: string, listener: Listener) => type === "message" && listeners.delete(listener),
    open: (url: string) => {
      opened.push(url);
      return open === "popup" ? popup : null;
    },
    /** What the complete page's `window.opener.postMessage(data, targetOrigin)` does here. */
    postMessage: (data: unknown, targetOrigin: string) => {
      if (targetOrigin !== ORIGIN) return;
      for (const listener of [...listeners]) listener({ origin: ORIGIN, data: clone(data) });
    },
  };
  const document = { currentScript: null, addEventListener: () => {} };
  runInNewContext(BROWSER_HELPER, {
    window,
    document,
    location: window["location"],
    URL,
    URLSearchParams,
    BroadcastChannel: FakeBroadcastChannel,
    // The closed-popup poll is not exercised here: no timer ever fires.
    setInterval: () => 1,
    clearInterval: () => {},
    fetch: () => new Promise(() => {}),
  });
  const fletAuth = window["fletAuth"] as { popupLogin?: PopupLogin } | undefined;

  /** Runs the complete page's script in the popup, with or without (COOP) this window as opener. */
  function completePage(raw: RawOutcome, opener: boolean) {
    const html = renderCompletePage(undefined, raw, "bm9uY2U=").html;
    const script = /<script nonce="bm9uY2U=">([\s\S]*?)<\/script>/.exec(html)?.[1] ?? "";
    const popupWindow = { opener: opener ? window : null, location: { origin: ORIGIN }, close: () => {} };
    runInNewContext(script, { window: popupWindow, BroadcastChannel: FakeBroadcastChannel });
  }

  return { window, fletAuth, opened, listeners, completePage };
}

function login(b: ReturnType<typeof browser>, provider: string, options?: Record<string, unknown>) {
  const popupLogin = b.fletAuth?.popupLogin;
  expect(typeof popupLogin).toBe("function");
  return Promise.resolve((popupLogin as PopupLogin)(provider, options));
}

describe("the browser helper (client.js)", () => {
  it("defines window.fletAuth with popupLogin and status", () => {
    const { fletAuth } = browser();
    expect(typeof fletAuth?.popupLogin).toBe("function");
    expect(typeof (fletAuth as { status?: unknown } | undefined)?.status).toBe("function");
  });

  it("opens the provider's login in a popup, with returnTo and remember", () => {
    const b = browser();
    void login(b, "git hub", { returnTo: "/after", remember: true });
    expect(b.opened).toEqual(["/login/git%20hub?popup=1&returnTo=%2Fafter&remember=1"]);
  });

  it("rejects at once when the popup is blocked", async () => {
    await expect(login(browser("blocked"), "github")).rejects.toMatchObject({ message: "The sign-in popup was blocked" });
  });

  it("resolves with what a success page posts to its opener: ok, the provider, no error", async () => {
    const b = browser();
    const result = login(b, "github");
    b.completePage({ provider: "github", returnTo: "/" }, true);
    await expect(result).resolves.toEqual({ ok: true, provider: "github", error: "" });
    expect(b.listeners.size).toBe(0);
  });

  it("resolves through the BroadcastChannel when COOP severed the opener", async () => {
    const b = browser();
    const result = login(b, "github");
    b.completePage({ provider: "github", returnTo: "/" }, false);
    await expect(result).resolves.toEqual({ ok: true, provider: "github", error: "" });
  });

  it("rejects with the error code a failure page reports", async () => {
    const b = browser();
    const result = login(b, "github");
    b.completePage({ provider: "github", error: "access_denied", errorDescription: "The user said no", returnTo: "/" }, true);
    await expect(result).rejects.toMatchObject({ ok: false, provider: "github", error: "access_denied", message: "access_denied" });
  });

  it("ignores messages from other origins and messages that are not a login signal", async () => {
    const b = browser();
    const result = login(b, "github");
    for (const listener of [...b.listeners]) {
      listener({ origin: "https://evil.example", data: { type: "flet-auth:login", ok: true, provider: "github", error: "" } });
      listener({ origin: ORIGIN, data: { type: "something-else", ok: true } });
    }
    expect(b.listeners.size).toBe(1);
    b.completePage({ provider: "github", error: "access_denied", returnTo: "/" }, true);
    await expect(result).rejects.toMatchObject({ ok: false, error: "access_denied" });
  });
});
