/**
 * The default complete page (lib/pages/complete-page.ts) as a reader sees it: the title and
 * heading say whether sign-in worked, a failure names the provider and the reason as one
 * sentence in an alert, every value the provider or the user controls shows verbatim but never as
 * markup, and the page's styling gives readable contrast and a visible keyboard focus.
 */
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { RawOutcome } from "../../../lib/pages/complete-page.js";
type Module = typeof import("../../../lib/pages/complete-page.js");
let escapeHtml: Module["escapeHtml"];
let renderCompletePage: Module["renderCompletePage"];
let sentence: Module["sentence"];
// Imported afresh inside each test: the module's tables (module-level constants) are then evaluated
// within a test, so that mutation testing credits these tests with them (docs/testing.md, Scores).
beforeEach(async () => {
  vi.resetModules();
  ({ escapeHtml, renderCompletePage, sentence } = await import("../../../lib/pages/complete-page.js"));
});

const NONCE = "bm9uY2U=";
const ENTITIES: Record<string, string> = { "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#39;": "'" };

/** What a browser shows for escaped text (one pass, so `&amp;lt;` stays `&lt;`). */
function decode(html: string): string {
  return html.replace(/&(?:amp|lt|gt|quot|#39);/g, (entity) => ENTITIES[entity] ?? entity);
}

function page(raw: Partial<RawOutcome> = {}): string {
  return renderCompletePage(undefined, { provider: "github", returnTo: "/", ...raw }, NONCE).html;
}

function only(html: string, pattern: RegExp): string {
  const matches = [...html.matchAll(new RegExp(pattern.source, "g"))];
  expect(matches, `${pattern} in ${html}`).toHaveLength(1);
  return matches[0]?.[1] ?? "";
}

const titleOf = (html: string) => only(html, /<title>([^<]*)<\/title>/);
const headingOf = (html: string) => only(html, /<h1>([^<]*)<\/h1>/);
const alertOf = (html: string) => only(html, /<p class="error" role="alert">([^<]*)<\/p>/);

describe("escapeHtml", () => {
  it("replaces each of & < > \" ' by its entity and leaves other text alone", () => {
    expect(escapeHtml("a&b<c>d\"e'f")).toBe("a&amp;b&lt;c&gt;d&quot;e&#39;f");
    expect(escapeHtml("plain text, é ü ✓")).toBe("plain text, é ü ✓");
  });

  it.each(["&", "<", ">", '"', "'"])("%s alone round-trips through the browser's decoding", (c) => {
    const escaped = escapeHtml(`x${c}y`);
    expect(escaped).not.toContain(c === "&" ? "&y" : c);
    expect(decode(escaped)).toBe(`x${c}y`);
  });
});

describe("sentence", () => {
  it("ends the text with one full stop, after dropping trailing spaces (not leading ones)", () => {
    expect(sentence("access denied")).toBe("access denied.");
    expect(sentence("access denied  ")).toBe("access denied.");
    expect(sentence("  access denied \t")).toBe("  access denied.");
  });

  it.each(["Try again.", "Try again!", "Really?", "Wait…"])("%j already ends a sentence: no second mark", (text) => {
    expect(sentence(`${text}  `)).toBe(text);
  });
});

describe("the default complete page", () => {
  it("on success: title and heading say signed in, and the message is a plain paragraph", () => {
    const html = page();
    expect(titleOf(html)).toMatch(/signed in/i);
    expect(titleOf(html)).not.toMatch(/fail/i);
    expect(headingOf(html)).toBe(titleOf(html));
    const message = only(html, /<p>([^<]+)<\/p>/);
    expect(message).toMatch(/signed in/i);
    expect(message).toMatch(/close this tab or window/i);
    expect(html).not.toContain('role="alert"');
    expect(html).not.toContain('class="error"');
  });

  it("on failure: title and heading say failed, and the reason is an alert", () => {
    const html = page({ error: "access_denied" });
    expect(titleOf(html)).toMatch(/failed/i);
    expect(titleOf(html)).not.toMatch(/successful/i);
    expect(headingOf(html)).toBe(titleOf(html));
    expect(alertOf(html)).toBe("Sign-in with github did not complete: access_denied.");
    expect(html).not.toMatch(/successfully signed in/i);
  });

  it("a failure names the provider, or 'the provider' when it is unknown", () => {
    expect(alertOf(page({ provider: "azure", error: "server_error" }))).toMatch(/^Sign-in with azure did not complete: /);
    expect(alertOf(page({ provider: "", error: "invalid_state" }))).toBe("Sign-in with the provider did not complete: invalid_state.");
  });

  it("a failure gives the provider's description as one sentence, else the error code", () => {
    expect(alertOf(page({ error: "access_denied", errorDescription: "The user denied the request " }))).toBe(
      "Sign-in with github did not complete: The user denied the request.",
    );
    expect(alertOf(page({ error: "access_denied", errorDescription: "Please try again!" }))).toBe(
      "Sign-in with github did not complete: Please try again!",
    );
    expect(alertOf(page({ error: "access_denied", errorDescription: "" }))).toBe("Sign-in with github did not complete: access_denied.");
  });

  it("provider, error description and return address show verbatim but never as markup", () => {
    const provider = `<b>"evil" & 'co'</b>`;
    const errorDescription = `<img src=x onerror="alert('1')"> & <script>alert(2)</script> 'done'`;
    const returnTo = `/after?a=1&b="2"&c='3'><script>`;
    const html = page({ provider, error: "access_denied", errorDescription, returnTo });
    const alert = alertOf(html);
    expect(alert).not.toMatch(/[<>"']/);
    expect(decode(alert)).toBe(`Sign-in with ${provider} did not complete: ${errorDescription}.`);
    const href = only(html, /<a class="button" href="([^"]*)">/);
    expect(href).not.toMatch(/[<>"']/);
    expect(decode(href)).toBe(returnTo);
    expect(html).not.toContain("<img");
    expect(html).not.toContain("<b>");
    // The page's one script is its own.
    expect(html.match(/<script/g)).toHaveLength(1);
  });
});

type Rules = Map<string, Map<string, string>>;

function stylesOf(html: string): Rules {
  const css = only(html, new RegExp(`<style nonce="${NONCE}">([^<]*)</style>`));
  const rules: Rules = new Map();
  for (const [, selector = "", body = ""] of css.matchAll(/([^{}]+)\{([^}]*)\}/g)) {
    const declarations = new Map<string, string>();
    for (const declaration of body.split(";")) {
      const colon = declaration.indexOf(":");
      if (colon > 0) declarations.set(declaration.slice(0, colon).trim(), declaration.slice(colon + 1).trim());
    }
    rules.set(selector.trim(), declarations);
  }
  return rules;
}

function declaration(rules: Rules, selector: string, property: string): string {
  const value = rules.get(selector)?.get(property);
  expect(value, `${selector} { ${property} }`).toBeTruthy();
  return value ?? "";
}

/** WCAG 2 contrast ratio of two #rgb / #rrggbb colours. */
function contrast(a: string, b: string): number {
  const luminance = (hex: string) => {
    const digits = hex.slice(1).length === 3 ? [...hex.slice(1)].map((d) => d + d) : (hex.slice(1).match(/../g) ?? []);
    expect(digits, hex).toHaveLength(3);
    const [r = 0, g = 0, bl = 0] = digits.map((d) => {
      const c = parseInt(d, 16) / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return ((hi ?? 0) + 0.05) / ((lo ?? 0) + 0.05);
}

describe("the default complete page's styling", () => {
  let success: ReturnType<typeof stylesOf>;
  let failure: ReturnType<typeof stylesOf>;
  beforeEach(() => {
    success = stylesOf(page());
    failure = stylesOf(page({ error: "access_denied" }));
  });

  it("is the same for both outcomes and sits in a nonce'd style element", () => {
    expect(failure).toEqual(success);
  });

  it("body text is readable on the page background (contrast ≥ 4.5), in a system font", () => {
    expect(declaration(success, "body", "font")).toMatch(/system-ui/);
    expect(contrast(declaration(success, "body", "color"), declaration(success, "body", "background"))).toBeGreaterThanOrEqual(4.5);
  });

  it("the content is a centred card of limited width with its own background", () => {
    expect(declaration(success, "main", "max-width")).toMatch(/rem$/);
    expect(declaration(success, "main", "margin")).toMatch(/auto/);
    expect(declaration(success, "main", "background")).toMatch(/^#/);
  });

  it("the heading is sized and the error text is readable on the card (contrast ≥ 4.5)", () => {
    expect(declaration(success, "h1", "font-size")).toMatch(/rem$/);
    expect(contrast(declaration(success, ".error", "color"), declaration(success, "main", "background"))).toBeGreaterThanOrEqual(4.5);
  });

  it("the return link looks like a button with readable text (contrast ≥ 4.5)", () => {
    expect(declaration(success, ".button", "display")).toBe("inline-block");
    expect(contrast(declaration(success, ".button", "color"), declaration(success, ".button", "background"))).toBeGreaterThanOrEqual(4.5);
  });

  it("keyboard focus on the return link is visible", () => {
    expect(declaration(success, ".button:focus-visible", "outline")).toMatch(/^\d+px solid #/);
  });

  it("every class the page uses is styled", () => {
    for (const html of [page(), page({ error: "access_denied" })]) {
      const classes = [...html.matchAll(/class="([^"]*)"/g)].flatMap((m) => (m[1] ?? "").split(/\s+/));
      expect(classes.length).toBeGreaterThan(0);
      for (const name of classes) expect(success.has(`.${name}`), `.${name}`).toBe(true);
    }
  });
});
