/**
 * safeError (lib/util/safe-error.ts), the one log sanitiser: what is left of an HTTP or Redis
 * client error once it may reach a log — its name and at most 300 characters of its message,
 * with URL credentials masked; never the request, its headers or its cause.
 */
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { safeError } from "../../../lib/util/safe-error.js";

describe("safeError", () => {
  it("keeps only the name and the message: no request, headers, config or cause", () => {
    const err = Object.assign(new TypeError("Request failed with status code 500"), {
      config: { headers: { Authorization: "Bearer secret-access-token" } },
      request: { body: "client_secret=hunter2" },
      cause: new Error("refresh_token=secret-refresh-token"),
    });
    const clean = safeError(err);
    expect(clean).toBeInstanceOf(Error);
    expect(clean.name).toBe("TypeError");
    expect(clean.message).toBe("Request failed with status code 500");
    expect(Object.keys(clean)).toEqual(["name"]);
    expect(clean.cause).toBeUndefined();
    const logged = inspect(clean, { depth: 10 });
    for (const secret of ["secret-access-token", "hunter2", "secret-refresh-token"]) expect(logged).not.toContain(secret);
  });

  it.each([
    ["a string", "connection refused", "connection refused"],
    ["a number", 42, "42"],
    ["undefined", undefined, "undefined"],
  ])("a thrown non-Error (%s) becomes an Error with its text", (_what, thrown, message) => {
    const clean = safeError(thrown);
    expect(clean.name).toBe("Error");
    expect(clean.message).toBe(message);
  });

  it.each([
    ["redis://default:p4ssw0rd@cache.internal:6379 refused", "redis://***@cache.internal:6379 refused"],
    ["GET https://client:secret@idp.example/token failed", "GET https://***@idp.example/token failed"],
    ["HTTPS://Token@IDP.example/x", "HTTPS://***@IDP.example/x"],
    ["rediss://u:p@a, git+ssh://git:pw@b and x.y-z://k@c", "rediss://***@a, git+ssh://***@b and x.y-z://***@c"],
  ])("masks the credentials of every URL: %s", (message, expected) => {
    expect(safeError(new Error(message)).message).toBe(expected);
  });

  it.each([
    "GET https://api.example/users/@me failed",
    "could not reach https://idp.example; write to ops@example.com",
    "no scheme here: user:password@host",
  ])("leaves an @ that is not in a URL's user part alone: %s", (message) => {
    expect(safeError(new Error(message)).message).toBe(message);
  });

  it("cuts the message to 300 characters, after masking", () => {
    const long = `redis://user:pw@host ${"x".repeat(400)}`;
    const clean = safeError(new Error(long));
    expect(clean.message).toHaveLength(300);
    expect(clean.message.startsWith("redis://***@host xxx")).toBe(true);
    expect(safeError(new Error("y".repeat(300))).message).toBe("y".repeat(300));
  });
});
