/**
 * FletAuthError as error handlers see it: its name, `expose` (read by Express's and http-errors'
 * handlers to decide whether the message may be shown), `cause` kept only when given, and the
 * `isFletAuthError(err, code?)` guard.
 */
import { describe, expect, it } from "vitest";
import { FletAuthError, isFletAuthError } from "../../lib/index.js";

describe("FletAuthError", () => {
  it('is named "FletAuthError", which stack traces and String(err) show', () => {
    const err = new FletAuthError("invalid_state", "state mismatch");
    expect(err.name).toBe("FletAuthError");
    expect(String(err)).toBe("FletAuthError: state mismatch");
    expect(err.stack?.startsWith("FletAuthError: state mismatch")).toBe(true);
  });

  it("is exposed: its message carries no secret and may be shown to the user", () => {
    expect(new FletAuthError("provider_error", "denied").expose).toBe(true);
  });

  it("keeps the cause when one is given", () => {
    const cause = new Error("socket hang up");
    const err = new FletAuthError("token_exchange_failed", "exchange failed", { cause });
    expect(err.cause).toBe(cause);
    expect(Object.hasOwn(err, "cause")).toBe(true);
  });

  it("has no cause property at all when none is given", () => {
    expect(Object.hasOwn(new FletAuthError("invalid_state", "no cause"), "cause")).toBe(false);
    expect(Object.hasOwn(new FletAuthError("invalid_state", "no cause", {}), "cause")).toBe(false);
    expect("cause" in new FletAuthError("invalid_state", "no cause", { status: 400 })).toBe(false);
  });
});

describe("isFletAuthError", () => {
  const err = new FletAuthError("session_unavailable", "no session");

  it("is true for a FletAuthError, with no code given", () => {
    expect(isFletAuthError(err)).toBe(true);
  });

  it("is true for a FletAuthError with the given code", () => {
    expect(isFletAuthError(err, "session_unavailable")).toBe(true);
  });

  it("is false for a FletAuthError with another code", () => {
    expect(isFletAuthError(err, "invalid_state")).toBe(false);
  });

  it("is false for anything that is not a FletAuthError, even one that looks like it", () => {
    const lookalike = Object.assign(new Error("no session"), { name: "FletAuthError", code: "session_unavailable", status: 500 });
    for (const value of [new Error("plain"), lookalike, { code: "session_unavailable" }, null, undefined, "FletAuthError"]) {
      expect(isFletAuthError(value)).toBe(false);
      expect(isFletAuthError(value, "session_unavailable")).toBe(false);
    }
  });
});
