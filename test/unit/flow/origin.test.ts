/**
 * Where a login starts versus the provider's redirectUrl (lib/flow/origin.ts): the request's
 * origin from protocol + Host, loopback aliases (moved by the login route), other mismatches
 * (warned), and the redirect target that keeps only the path and query.
 */
import { describe, expect, it } from "vitest";
import { checkOrigin, originWarning, requestOrigin, sameRequestOn } from "../../../lib/flow/origin.js";

const LOCALHOST = "http://localhost:8550/oauth_callback";

describe("requestOrigin", () => {
  it("builds a normalised origin from the protocol and the Host header", () => {
    expect(requestOrigin("http", "127.0.0.1:8550")).toBe("http://127.0.0.1:8550");
    expect(requestOrigin("http", "LocalHost:8550")).toBe("http://localhost:8550");
    expect(requestOrigin("https", "example.com:443")).toBe("https://example.com");
    expect(requestOrigin("http", "example.com:80")).toBe("http://example.com");
    expect(requestOrigin("http", "[::1]:8550")).toBe("http://[::1]:8550");
  });

  it("is undefined without a usable host or with an unexpected protocol", () => {
    expect(requestOrigin("http", undefined)).toBeUndefined();
    expect(requestOrigin("http", "")).toBeUndefined();
    expect(requestOrigin("http", "user@evil.example")).toBeUndefined();
    expect(requestOrigin("http", "evil.example/path")).toBeUndefined();
    expect(requestOrigin("http", "a b")).toBeUndefined();
    expect(requestOrigin("http", "host:99999")).toBeUndefined();
    expect(requestOrigin("ftp", "localhost")).toBeUndefined();
  });
});

describe("checkOrigin", () => {
  it("same origin, or no known origin: nothing to do", () => {
    expect(checkOrigin("http://localhost:8550", LOCALHOST)).toEqual({ kind: "same" });
    expect(checkOrigin(undefined, LOCALHOST)).toEqual({ kind: "same" });
    expect(checkOrigin("https://app.example.com", "https://app.example.com:443/cb")).toEqual({ kind: "same" });
  });

  it("another loopback name, same scheme and port: a loopback alias", () => {
    for (const origin of ["http://127.0.0.1:8550", "http://127.1.2.3:8550", "http://[::1]:8550", "http://app.localhost:8550"]) {
      expect(checkOrigin(origin, LOCALHOST)).toEqual({ kind: "loopbackAlias", requestOrigin: origin, redirectOrigin: "http://localhost:8550" });
    }
    expect(checkOrigin("http://localhost:8550", "http://127.0.0.1:8550/cb")).toMatchObject({ kind: "loopbackAlias", redirectOrigin: "http://127.0.0.1:8550" });
  });

  it("another port, scheme or non-loopback host: a mismatch", () => {
    expect(checkOrigin("http://localhost:3000", LOCALHOST)).toEqual({
      kind: "mismatch",
      requestOrigin: "http://localhost:3000",
      redirectOrigin: "http://localhost:8550",
    });
    expect(checkOrigin("http://127.0.0.1:3000", LOCALHOST)).toMatchObject({ kind: "mismatch" });
    expect(checkOrigin("https://localhost:8550", LOCALHOST)).toMatchObject({ kind: "mismatch" });
    expect(checkOrigin("http://192.168.1.5:8550", LOCALHOST)).toMatchObject({ kind: "mismatch" });
    expect(checkOrigin("https://www.example.com", "https://example.com/cb")).toMatchObject({ kind: "mismatch" });
    // A default port and an explicit other one differ.
    expect(checkOrigin("http://127.0.0.1:54321", "http://127.0.0.1/oauth_callback")).toMatchObject({ kind: "mismatch" });
  });
});

describe("sameRequestOn", () => {
  it("keeps the path and query, on the given origin", () => {
    expect(sameRequestOn("http://localhost:8550", "/login/demo?returnTo=%2Fme&remember=1")).toBe("http://localhost:8550/login/demo?returnTo=%2Fme&remember=1");
    expect(sameRequestOn("http://localhost:8550", "/auth/login/demo")).toBe("http://localhost:8550/auth/login/demo");
  });

  it("never lets the request choose the host", () => {
    for (const url of ["//evil.example/login/demo", "http://evil.example/login/demo?x=1", "/\\evil.example/login/demo"]) {
      const target = new URL(sameRequestOn("http://localhost:8550", url));
      expect(target.origin).toBe("http://localhost:8550");
    }
  });
});

describe("originWarning", () => {
  it("names both origins, the provider and the fix", () => {
    const check = checkOrigin("http://localhost:3000", LOCALHOST);
    if (check.kind === "same") throw new Error("expected a mismatch");
    const message = originWarning("github", LOCALHOST, check);
    expect(message).toContain('provider "github"');
    expect(message).toContain("http://localhost:3000");
    expect(message).toContain("http://localhost:8550");
    expect(message).toContain("Set the provider's redirectUrl to this app's address (http://localhost:3000/oauth_callback)");
    expect(message).toContain("register that URL at the provider");
    expect(message).not.toContain("trust proxy");
  });

  it("says why the sign-in cannot complete, and ends with the fix when no proxy is involved", () => {
    const check = checkOrigin("http://localhost:3000", LOCALHOST);
    if (check.kind === "same") throw new Error("expected a mismatch");
    const message = originWarning("github", LOCALHOST, check);
    expect(message).toContain(
      "There the session cookie of http://localhost:3000 is not sent (or the app does not listen), so the sign-in cannot complete. ",
    );
    expect(message.endsWith("register that URL at the provider, or open the app at http://localhost:8550.")).toBe(true);
  });

  it("the proxy advice names trust proxy, X-Forwarded-Proto and the Host header", () => {
    const redirectUrl = "https://app.example.com/oauth_callback";
    const check = checkOrigin("http://app.example.com", redirectUrl);
    if (check.kind === "same") throw new Error("expected a mismatch");
    expect(originWarning("github", redirectUrl, check)).toContain(
      'Behind a proxy or load balancer, let Express see the browser\'s address: app.set("trust proxy", 1) ' +
        "for the https scheme (X-Forwarded-Proto), and pass the original Host header on (nginx: proxy_set_header Host $host).",
    );
  });

  it("points at trust proxy for a loopback origin in front of a public https redirectUrl, even over https", () => {
    const redirectUrl = "https://app.example.com/oauth_callback";
    const check = checkOrigin("https://localhost:8443", redirectUrl);
    if (check.kind === "same") throw new Error("expected a mismatch");
    expect(originWarning("github", redirectUrl, check)).toContain('app.set("trust proxy", 1)');
  });

  it("no proxy advice between two https origins that are not loopback", () => {
    const redirectUrl = "https://example.com/oauth_callback";
    const check = checkOrigin("https://www.example.com", redirectUrl);
    if (check.kind === "same") throw new Error("expected a mismatch");
    expect(originWarning("github", redirectUrl, check)).not.toContain("trust proxy");
  });

  it("points at trust proxy when the difference looks like a proxy's", () => {
    for (const [origin, redirectUrl] of [
      ["http://app.example.com", "https://app.example.com/oauth_callback"], // TLS ends at the proxy, no trust proxy
      ["http://127.0.0.1:3000", "https://app.example.com/oauth_callback"], // the proxy rewrote Host
    ] as const) {
      const check = checkOrigin(origin, redirectUrl);
      if (check.kind === "same") throw new Error("expected a mismatch");
      expect(originWarning("github", redirectUrl, check)).toContain('app.set("trust proxy", 1)');
    }
  });
});
