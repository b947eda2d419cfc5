/**
 * simple-oauth2's debug namespaces print the client secret and codes: creating the default
 * OAuthHttp switches them off, and only them — an app's own DEBUG namespaces stay on.
 */
import createDebug from "debug";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createOAuthHttp } from "../../../lib/index.js";

describe("createOAuthHttp silences simple-oauth2's credential logging", () => {
  let saved = "";

  beforeEach(() => {
    saved = createDebug.disable();
  });
  afterEach(() => {
    createDebug.enable(saved);
  });

  it("turns simple-oauth2:* off and keeps the app's other namespaces on", () => {
    createDebug.enable("simple-oauth2:*,myapp:*");
    expect(createDebug.enabled("simple-oauth2:client")).toBe(true);
    createOAuthHttp();
    expect(createDebug.enabled("simple-oauth2:client")).toBe(false);
    expect(createDebug.enabled("simple-oauth2:request-options")).toBe(false);
    expect(createDebug.enabled("myapp:auth")).toBe(true);
  });

  it("turns simple-oauth2 off under DEBUG=* too, and keeps everything else on", () => {
    createDebug.enable("*");
    createOAuthHttp();
    expect(createDebug.enabled("simple-oauth2:client")).toBe(false);
    expect(createDebug.enabled("express:router")).toBe(true);
  });

  it("leaves the debug settings alone when simple-oauth2 is not enabled", () => {
    createDebug.enable("myapp:*,-myapp:noisy");
    createOAuthHttp();
    expect(createDebug.enabled("myapp:auth")).toBe(true);
    expect(createDebug.enabled("myapp:noisy")).toBe(false);
    expect(createDebug.enabled("simple-oauth2:client")).toBe(false);
  });
});
