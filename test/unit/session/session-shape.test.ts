/**
 * The shape check of flet-auth's part of the session (lib/session/session.ts): `authData` hands
 * back a well-formed `fletAuth` exactly as stored (the hot path, read on every signed-in request,
 * no copy), and anything else as a cleaned copy — unknown keys, non-string sign-in ids, a
 * non-string `current`, malformed transactions or a malformed logout are dropped. Also the
 * contracts of `setAuthData`, `saveSession` and `regenerateSession` on a request without a session.
 */
import type { Request } from "express";
import { describe, expect, it } from "vitest";
import { FletAuthError } from "../../../lib/errors.js";
import { authData, regenerateSession, saveSession, setAuthData } from "../../../lib/session/session.js";

/** A request whose session holds `fletAuth` as the store gave it. */
function requestWith(fletAuth: unknown): Request {
  return { session: { fletAuth } } as unknown as Request;
}

/** A request that has no session at all (express-session missing or not run). */
function requestWithoutSession(): Request {
  return {} as unknown as Request;
}

const TX = { provider: "demo", verifier: "verifier-1", createdAt: 1_700_000_000_000, scope: ["openid"], returnTo: "/" };
const LOGOUT = { state: "hashed-state", returnTo: "/bye", expiresAt: 1_700_000_600_000 };

describe("authData: a well-formed fletAuth is used as stored", () => {
  const WELL_FORMED: ReadonlyArray<readonly [string, Record<string, unknown>]> = [
    ["signed-in providers (auths)", { auths: { demo: "signin-id-1", other: "signin-id-2" } }],
    ["the current provider", { current: "demo" }],
    ["pending logins (tx)", { tx: { "hashed-state-1": TX, "hashed-state-2": { ...TX, provider: "other" } } }],
    ["a logout under way", { logout: LOGOUT }],
    ["every key at once", { auths: { demo: "signin-id-1" }, current: "demo", tx: { "hashed-state-1": TX }, logout: LOGOUT }],
    ["empty tables", { auths: {}, tx: {} }],
  ];

  it.each(WELL_FORMED)("%s: the very object in the session, not a copy", (_name, stored) => {
    const req = requestWith(stored);
    const data = authData(req);
    expect(data).toBe(stored);
    expect(data).toStrictEqual(stored);
  });
});

describe("authData: malformed entries are dropped, the well-formed rest is kept", () => {
  const MALFORMED: ReadonlyArray<readonly [string, Record<string, unknown>, Record<string, unknown>]> = [
    ["an unknown key", { current: "demo", cart: ["book"] }, { current: "demo" }],
    ["an unknown key shaped like a logout", { current: "demo", pendingLogout: LOGOUT }, { current: "demo" }],
    ["a sign-in id that is not a string", { auths: { demo: "signin-id-1", broken: 42 } }, { auths: { demo: "signin-id-1" } }],
    ["a sign-in id that is an object", { auths: { broken: { id: "x" }, demo: "signin-id-1" } }, { auths: { demo: "signin-id-1" } }],
    ["a current provider that is not a string", { auths: { demo: "signin-id-1" }, current: 7 }, { auths: { demo: "signin-id-1" } }],
    ["a transaction table that is a string", { tx: "hashed-state-1", current: "demo" }, { current: "demo" }],
    ["a transaction table that is an array", { tx: [TX], current: "demo" }, { current: "demo" }],
    ["a transaction without a verifier", { tx: { good: TX, bad: { ...TX, verifier: undefined } } }, { tx: { good: TX } }],
    ["a logout that is not an object", { current: "demo", logout: "hashed-state" }, { current: "demo" }],
    ["a logout whose state is not a string", { current: "demo", logout: { ...LOGOUT, state: 1 } }, { current: "demo" }],
    ["a logout whose returnTo is not a string", { current: "demo", logout: { ...LOGOUT, returnTo: null } }, { current: "demo" }],
    ["a logout whose expiresAt is not a number", { current: "demo", logout: { ...LOGOUT, expiresAt: "soon" } }, { current: "demo" }],
    ["a logout without a state", { current: "demo", logout: { returnTo: "/bye", expiresAt: 1 } }, { current: "demo" }],
  ];

  it.each(MALFORMED)("%s", (_name, stored, kept) => {
    const snapshot = structuredClone(stored);
    const data = authData(requestWith(stored));
    expect(data).toStrictEqual(kept);
    expect(data).not.toBe(stored);
    // The stored session is left for express-session to overwrite on the next write, not edited.
    expect(stored).toStrictEqual(snapshot);
  });

  it("a well-formed logout next to a malformed entry survives the cleaning", () => {
    const data = authData(requestWith({ logout: LOGOUT, current: 3 }));
    expect(data).toStrictEqual({ logout: LOGOUT });
  });

  it("a session without fletAuth, or with a fletAuth that is not an object, is a signed-out visitor", () => {
    expect(authData(requestWith(undefined))).toStrictEqual({});
    expect(authData(requestWith("garbage"))).toStrictEqual({});
    expect(authData(requestWithoutSession())).toStrictEqual({});
  });
});

describe("without a session", () => {
  it("setAuthData does nothing (and does not throw)", () => {
    const req = requestWithoutSession();
    expect(() => setAuthData(req, { current: "demo" })).not.toThrow();
    expect(req.session).toBeUndefined();
  });

  it("setAuthData on a session replaces flet-auth's part", () => {
    const req = requestWith({ current: "old" });
    setAuthData(req, { current: "demo" });
    expect(req.session.fletAuth).toStrictEqual({ current: "demo" });
  });

  it("saveSession resolves: there is nothing to persist", async () => {
    await expect(saveSession(requestWithoutSession())).resolves.toBeUndefined();
  });

  it.each([
    ["signing in (data to keep)", { current: "demo" }],
    ["signing out (nothing kept)", undefined],
  ])("regenerateSession rejects with session_unavailable when %s", async (_name, keep) => {
    const outcome = regenerateSession(requestWithoutSession(), keep);
    await expect(outcome).rejects.toBeInstanceOf(FletAuthError);
    await expect(outcome).rejects.toMatchObject({ code: "session_unavailable", message: "No session to regenerate." });
  });
});
