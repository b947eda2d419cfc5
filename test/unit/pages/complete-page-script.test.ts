/**
 * The default complete page's inline script (lib/pages/complete-page.ts), run in node:vm with a
 * minimal fake window: it tells its opener (own origin only) and a same-origin BroadcastChannel
 * what happened — the exact provider and error, whatever characters they hold — and closes the
 * window on success, on failure only when it has an opener.
 */
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { renderCompletePage, type RawOutcome } from "../../../lib/pages/complete-page.js";

const ORIGIN = "https://app.example";
const NONCE = "c2NyaXB0LW5vbmNl";

interface Run {
  readonly toOpener: { data: unknown; targetOrigin: unknown }[];
  readonly broadcast: { channel: string; data: unknown }[];
  readonly closes: number;
}

/** Renders the default page and runs its script as a browser would, with or without an opener. */
function run(raw: RawOutcome, opener: "none" | "open" | "closed"): Run {
  const html = renderCompletePage(undefined, raw, NONCE).html;
  const scripts = [...html.matchAll(/<script nonce="([^"]*)">([\s\S]*?)<\/script>/g)];
  expect(scripts).toHaveLength(1);
  expect(scripts[0]?.[1]).toBe(NONCE);
  const toOpener: Run["toOpener"] = [];
  const broadcast: Run["broadcast"] = [];
  let closes = 0;
  const clone = (data: unknown): unknown => JSON.parse(JSON.stringify(data));
  class FakeBroadcastChannel {
    constructor(private readonly name: string) {}
    postMessage(data: unknown) {
      broadcast.push({ channel: this.name, data: clone(data) });
    }
    close() {}
  }
  const window = {
    opener:
      opener === "none"
        ? null
        : { closed: opener === "closed", postMessage: (data: unknown, targetOrigin: unknown) => toOpener.push({ data: clone(data), targetOrigin }) },
    location: { origin: ORIGIN },
    close: () => {
      closes++;
    },
  };
  runInNewContext(scripts[0]?.[2] ?? "", { window, BroadcastChannel: FakeBroadcastChannel });
  return { toOpener, broadcast, closes };
}

const TRICKY = `</script><script>alert(1)</script><!-- & \u2028 \u2029 "q" 'a' \\ >`;

describe("the default complete page's script", () => {
  it("on success tells the opener, restricted to its own origin, with an empty error, and closes", () => {
    const result = run({ provider: "github", returnTo: "/" }, "open");
    const signal = { type: "flet-auth:login", ok: true, provider: "github", error: "" };
    expect(result.toOpener).toEqual([{ data: signal, targetOrigin: ORIGIN }]);
    expect(result.broadcast).toEqual([{ channel: "flet-auth", data: signal }]);
    expect(result.closes).toBe(1);
  });

  it("on success without an opener (COOP severed it) still broadcasts and closes", () => {
    const result = run({ provider: "github", returnTo: "/" }, "none");
    expect(result.toOpener).toEqual([]);
    expect(result.broadcast).toEqual([{ channel: "flet-auth", data: { type: "flet-auth:login", ok: true, provider: "github", error: "" } }]);
    expect(result.closes).toBe(1);
  });

  it("does not post to an opener that is already closed", () => {
    expect(run({ provider: "github", returnTo: "/" }, "closed").toOpener).toEqual([]);
  });

  it("on failure reports the raw error code; closes only a window that has an opener", () => {
    const raw = { provider: "github", error: "access_denied", errorDescription: "denied", returnTo: "/" };
    const signal = { type: "flet-auth:login", ok: false, provider: "github", error: "access_denied" };
    const withOpener = run(raw, "open");
    expect(withOpener.toOpener).toEqual([{ data: signal, targetOrigin: ORIGIN }]);
    expect(withOpener.closes).toBe(1);
    const sameTab = run(raw, "none");
    expect(sameTab.broadcast).toEqual([{ channel: "flet-auth", data: signal }]);
    expect(sameTab.closes).toBe(0);
  });

  it("the provider and error reach the opener unchanged, whatever characters they hold, and cannot end the script", () => {
    const html = renderCompletePage(undefined, { provider: `p${TRICKY}`, error: `e${TRICKY}`, returnTo: "/" }, NONCE).html;
    expect(html.match(/<\/script/gi)).toHaveLength(1);
    expect(html.match(/<!--/g)).toBeNull();
    const script = /<script nonce="[^"]*">([\s\S]*?)<\/script>/.exec(html)?.[1] ?? "";
    // Line separators end a string literal in pre-ES2019 script engines: escaped in the script.
    for (const c of ["\u2028", "\u2029"]) expect(script).not.toContain(c);
    const result = run({ provider: `p${TRICKY}`, error: `e${TRICKY}`, returnTo: "/" }, "open");
    expect(result.toOpener).toEqual([
      { data: { type: "flet-auth:login", ok: false, provider: `p${TRICKY}`, error: `e${TRICKY}` }, targetOrigin: ORIGIN },
    ]);
  });

  it.each(["<", ">", "&", "\u2028", "\u2029"])("a provider name holding %j alone round-trips", (c) => {
    const provider = `a${c}b`;
    expect(run({ provider, returnTo: "/" }, "open").toOpener[0]?.data).toEqual({ type: "flet-auth:login", ok: true, provider, error: "" });
  });
});
