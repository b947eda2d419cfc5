/**
 * Three edges that earlier mutation runs recorded as timeouts under load, and that survived when
 * rerun alone on the machine (docs/testing.md, Scores): the token endpoint's own `expires_at`,
 * non-http schemes on a loopback host, and a deadline of Infinity.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { OAuthToken } from "../../lib/oauth/token.js";
import { assertSecureUrl } from "../../lib/providers/endpoint-url.js";
import { withDeadline } from "../../lib/util/deadline.js";

describe("OAuthToken.fromResponse", () => {
  it("keeps an expires_at the token endpoint sends, over one computed from expires_in", () => {
    const token = OAuthToken.fromResponse({ access_token: "a", token_type: "Bearer", expires_in: 3600, expires_at: 2_000_000_000 }, 1_700_000_000_000);
    expect(token.expiresAt).toBe(2_000_000_000);
  });

  it("computes expires_at from expires_in when the endpoint sends none", () => {
    const token = OAuthToken.fromResponse({ access_token: "a", token_type: "Bearer", expires_in: 3600 }, 1_700_000_000_000);
    expect(token.expiresAt).toBe(1_700_003_600);
  });
});

describe("assertSecureUrl", () => {
  it.each(["ftp://localhost/token", "ws://127.0.0.1/token", "file://localhost/etc/token"])(
    "refuses %s: on a loopback host only http: is accepted besides https:",
    (url) => {
      expect(() => assertSecureUrl("options.tokenEndpoint", url)).toThrow(/options\.tokenEndpoint must use https:/);
    },
  );

  it("accepts http: on a loopback host", () => {
    expect(assertSecureUrl("options.tokenEndpoint", "http://localhost:8550/token")).toBe("http://localhost:8550/token");
  });
});

describe("withDeadline", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("with Infinity sets no deadline: the promise settles whenever it does", async () => {
    vi.useFakeTimers();
    let resolve: (value: string) => void = () => undefined;
    const work = new Promise<string>((r) => {
      resolve = r;
    });
    let outcome: string | undefined;
    const bounded = withDeadline(work, Number.POSITIVE_INFINITY, () => new Error("deadline")).then(
      (v) => (outcome = `resolved ${v}`),
      (e: Error) => (outcome = `rejected ${e.message}`),
    );
    // A timer would fire in here (Node clamps a delay it cannot hold to 1 ms).
    await vi.advanceTimersByTimeAsync(86_400_000);
    expect(outcome).toBeUndefined();
    resolve("done");
    await bounded;
    expect(outcome).toBe("resolved done");
  });

  it("with a finite deadline rejects once it passes", async () => {
    vi.useFakeTimers();
    const bounded = withDeadline(new Promise<never>(() => undefined), 1_000, () => new Error("deadline"));
    const caught = bounded.catch((e: Error) => e.message);
    await vi.advanceTimersByTimeAsync(1_000);
    await expect(caught).resolves.toBe("deadline");
  });
});
