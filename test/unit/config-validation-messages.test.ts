/**
 * Option validation messages (SPEC §1, STYLE principle 2): every TypeError raised by
 * `resolveConfig` names the offending option path exactly, malformed cookie names, route paths
 * and header values are refused while valid edge values pass, injected dependencies are checked
 * for their methods, and the "did you mean" hint picks the nearest option within 3 edits.
 */
import { describe, expect, it } from "vitest";
import { resolveConfig, type FletAuthOptions } from "../../lib/config.js";
import { OAuthProvider } from "../../lib/index.js";
import { typeErrorMessage } from "../helpers/type-errors.js";

const SECRET = "validation-messages-secret-0123456789abcdef";
const REMEMBER_KEY = "validation-remember-key-0123456789abcdef0";

const BASE = {
  providers: {
    demo: new OAuthProvider({
      clientId: "client-id",
      clientSecret: "client-secret",
      authorizationEndpoint: "https://idp.example/authorize",
      tokenEndpoint: "https://idp.example/token",
      redirectUrl: "http://localhost:8550/oauth_callback",
    }),
  },
  secret: SECRET,
};

/** Loosely typed: JavaScript callers can pass what TypeScript refuses. */
const resolve = (extra: Record<string, unknown>) => resolveConfig({ ...BASE, ...extra } as unknown as FletAuthOptions);

/** The message of the TypeError that `resolve(extra)` throws (fails the test when it does not throw one). */
const messageOf = (extra: Record<string, unknown>): string => typeErrorMessage(() => resolve(extra));

describe("each option error starts with the exact option path", () => {
  it.each([
    ["idpLogout", "yes", "options.idpLogout must be true or false"],
    ["postLogoutPath", "logged-out", 'options.postLogoutPath must be a path such as "/flet-auth/logged-out" (leading "/", no trailing "/")'],
    ["backchannelLogoutPath", "/bc/", 'options.backchannelLogoutPath must be a path such as "/backchannel_logout" (leading "/", no trailing "/")'],
    ["storeTimeoutMs", 0, "options.storeTimeoutMs must be a number from 1 to 60000"],
    ["idleTimeoutMs", 1_000, "options.idleTimeoutMs must be a number from 60000 to 34560000000"],
    ["absoluteTimeoutMs", Number.NaN, "options.absoluteTimeoutMs must be a number from 60000 to 34560000000"],
  ])("options.%s = %s", (key, value, expected) => {
    expect(messageOf({ [key]: value })).toBe(expected);
  });

  it('options.clock = "now", with the store and refresh lock injected (so no default one reads the clock first)', () => {
    const store = { getMany: () => undefined, set: () => undefined, swap: () => undefined, delete: () => undefined };
    expect(messageOf({ clock: "now", store, refreshLock: { run: () => undefined } })).toBe("options.clock must be a function");
  });
});

describe("options.session", () => {
  it("null is refused as not an object of express-session options", () => {
    expect(messageOf({ session: null })).toBe("options.session must be an object of express-session options, e.g. { store }");
  });
});

describe("options.rememberMe", () => {
  const REMEMBER_ERROR = "options.rememberMe must be an object such as { secretKey: process.env.REMEMBER_ME_KEY }";

  it.each([["a string", "yes"], ["null", null], ["a number", 1], ["a function", Object.assign(() => undefined, { secretKey: REMEMBER_KEY })]])(
    "%s is refused with the rememberMe message, not a later one",
    (_label, value) => {
      expect(messageOf({ rememberMe: value })).toBe(REMEMBER_ERROR);
    },
  );

  const COOKIE_ERROR = "options.rememberMe.cookieName must be a valid cookie name (RFC 6265 token)";

  it.each([["a space inside", "my cookie"], ["a separator inside", "a;b"], ["a leading separator", "=name"], ["empty", ""], ["a number", 42]])(
    "a cookie name with %s is refused",
    (_label, cookieName) => {
      expect(messageOf({ rememberMe: { secretKey: REMEMBER_KEY, cookieName } })).toBe(COOKIE_ERROR);
    },
  );

  it.each(["a", "__Host-remember", "!#$%&'*+-.^_`|~09AZaz"])("the token cookie name %j is accepted as given", (cookieName) => {
    expect(resolve({ rememberMe: { secretKey: REMEMBER_KEY, cookieName } }).rememberMe?.cookieName).toBe(cookieName);
  });
});

describe("route paths", () => {
  it.each(["auth/login", "x/login", "/a b/login", "/é/login"])("loginPath %j (no leading \"/\" or a bad character before the last \"/\") is refused", (loginPath) => {
    expect(messageOf({ loginPath })).toBe('options.loginPath must be a path such as "/login" (leading "/", no trailing "/")');
  });

  it.each(["/a", "/a.b~c_d-e/F9"])("loginPath %j is accepted as given", (loginPath) => {
    expect(resolve({ loginPath }).loginPath).toBe(loginPath);
  });
});

describe("injected dependencies", () => {
  it("an object without the methods is refused, listing every method and every missing one", () => {
    expect(messageOf({ store: {} })).toBe(
      "options.store must be an object with getMany(), set(), swap(), delete() (missing getMany, set, swap, delete)",
    );
  });

  it("an object missing some methods names only those", () => {
    const store = { getMany: () => undefined, swap: () => undefined };
    expect(messageOf({ store })).toBe("options.store must be an object with getMany(), set(), swap(), delete() (missing set, delete)");
  });

  it("a function carrying every method is refused: an object is required", () => {
    const store = Object.assign(() => undefined, { getMany: () => undefined, set: () => undefined, swap: () => undefined, delete: () => undefined });
    expect(messageOf({ store })).toBe("options.store must be an object with getMany(), set(), swap(), delete()");
    const refreshLock = Object.assign(() => undefined, { run: () => undefined });
    expect(messageOf({ refreshLock })).toBe("options.refreshLock must be an object with run()");
  });

  it("an object with the methods is used as given", () => {
    const refreshLock = { run: () => undefined };
    expect(resolve({ refreshLock }).refreshLock).toBe(refreshLock);
  });
});

describe("options.userAgent", () => {
  const AGENT_ERROR = 'options.userAgent must be a non-empty printable ASCII string, e.g. "my-app/1.0"';

  it.each(["", "my-app\n", "\nmy-app", "my\r\napp", "my-app/1.0\u0000"])("%j (empty or with a control character anywhere) is refused", (userAgent) => {
    expect(messageOf({ userAgent })).toBe(AGENT_ERROR);
  });

  it.each(["my-app/1.0", "Mozilla/5.0 (X11; Linux x86_64) my-app!", " ", "~"])("printable ASCII %j is accepted", (userAgent) => {
    expect(() => resolve({ userAgent })).not.toThrow();
  });
});

describe("unknown options", () => {
  it("an option far from every known one gets no suggestion", () => {
    expect(messageOf({ zzzzzzzzzzzz: 1 })).toBe("options.zzzzzzzzzzzz is not a fletAuth option");
  });

  it.each([
    // One character, or none, is 4+ edits from the shortest option ("http").
    ["", "options. is not a fletAuth option"],
    ["x", "options.x is not a fletAuth option"],
    // Exactly 4 edits from "secret": beyond the 3-edit limit.
    ["secretABCD", "options.secretABCD is not a fletAuth option"],
  ])("%j is 4 or more edits from every option: no suggestion", (key, expected) => {
    expect(messageOf({ [key]: true })).toBe(expected);
  });

  it.each([
    ["secrte", "secret"],
    ["timeout", "timeoutMs"],
    ["idpLogin", "idpLogout"],
    ["loginoutPath", "logoutPath"],
    ["storeTimeout", "storeTimeoutMs"],
    ["SECRETABC", "secret"],
  ])("%s suggests the nearest option, %s", (key, meant) => {
    expect(messageOf({ [key]: true })).toBe(`options.${key} is not a fletAuth option — did you mean "${meant}"?`);
  });
});
