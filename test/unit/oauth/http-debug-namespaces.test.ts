/**
 * createOAuthHttp's guard on simple-oauth2's credential logging, namespace by namespace: either
 * of simple-oauth2's two namespaces (`client`, `request-options`) enabled alone is switched off,
 * and when neither is enabled the app's debug settings (and the DEBUG variable child processes
 * inherit) are left exactly as they were, not rewritten.
 */
import createDebug from "debug";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
type Module = typeof import("../../../lib/oauth/http.js");
let createOAuthHttp: Module["createOAuthHttp"];

let saved = "";
// Imported afresh inside each test, so that mutation testing credits these tests with the module
// (docs/testing.md, Scores). The debug package itself is shared with simple-oauth2 (not reset).
beforeEach(async () => {
  saved = createDebug.disable();
  vi.resetModules();
  ({ createOAuthHttp } = await import("../../../lib/oauth/http.js"));
});
afterEach(() => {
  createDebug.enable(saved);
});

/** The namespaces now enabled, as `DEBUG` would list them (read without changing them). */
function currentNamespaces(): string {
  const now = createDebug.disable();
  createDebug.enable(now);
  return now;
}

describe("createOAuthHttp and simple-oauth2's debug namespaces", () => {
  it.each(["simple-oauth2:client", "simple-oauth2:request-options"])("%s enabled alone is switched off; the app's namespaces stay on", (ns) => {
    createDebug.enable(`${ns},myapp:*`);
    expect(createDebug.enabled(ns)).toBe(true);
    createOAuthHttp();
    expect(createDebug.enabled(ns)).toBe(false);
    expect(createDebug.enabled("simple-oauth2:client")).toBe(false);
    expect(createDebug.enabled("simple-oauth2:request-options")).toBe(false);
    expect(createDebug.enabled("myapp:auth")).toBe(true);
  });

  it("with no simple-oauth2 namespace enabled, the enabled namespaces and DEBUG stay exactly as the app set them", () => {
    createDebug.enable("myapp:*,-myapp:noisy");
    createOAuthHttp();
    expect(currentNamespaces()).toBe("myapp:*,-myapp:noisy");
    expect(process.env["DEBUG"]).toBe("myapp:*,-myapp:noisy");
  });

  it("with debug output off altogether, DEBUG stays unset", () => {
    createDebug.enable("");
    expect(process.env["DEBUG"]).toBeUndefined();
    createOAuthHttp();
    expect(process.env["DEBUG"]).toBeUndefined();
    expect(currentNamespaces()).toBe("");
  });
});
