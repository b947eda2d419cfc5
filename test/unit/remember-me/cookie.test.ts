/**
 * The remember-me cookie itself (lib/remember-me/cookie.ts), driven directly: what `read` accepts
 * (the Fernet timestamp and the remembered period both bound a cookie's life; the payload's shape
 * is checked; an oversized value is refused unopened), what `write` and `clear` do to a response
 * (never after it was sent), `remaining`, `present`, and the Cookie-header parsing of `readCookie`.
 * Time moves only through the injected clock, set far from the wall clock.
 */
import type { Request, Response } from "express";
import { describe, expect, it } from "vitest";
import { createSealer } from "../../../lib/crypto/sealer.js";
import { OAuthToken } from "../../../lib/index.js";
import { createRememberMe, readCookie, type RememberedLogin } from "../../../lib/remember-me/cookie.js";
import { recordingLogger } from "../../helpers/review-harness.js";

const COOKIE = "flet-auth.remember";
const KEY = "remember-me-key-0123456789abcdef0123";
const DAY_MS = 86_400_000;
const MAX_AGE_MS = 7 * DAY_MS;
/** 2001-09-09: far from the wall clock, so anything timed by Date.now instead of the clock shows. */
const T0 = 1_000_000_000_000;
const TOO_LARGE_WARNING =
  "flet-auth: the remember-me cookie would exceed the browser's 4 KB limit (tokens too large); not remembering this sign-in.";

interface WrittenCookie {
  name: string;
  value: string;
  options: Record<string, unknown>;
}

/** A response that records cookie writes and clears; `sent` stands for `headersSent`. */
function recordingResponse(sent = false) {
  const state = { sent, written: [] as WrittenCookie[], cleared: [] as string[] };
  const res = {
    get headersSent() {
      return state.sent;
    },
    cookie(name: string, value: string, options: Record<string, unknown> = {}) {
      state.written.push({ name, value, options });
      return res;
    },
    clearCookie(name: string) {
      state.cleared.push(name);
      return res;
    },
  };
  return { res: res as unknown as Response, state };
}

function requestWith(cookieHeader?: string): Request {
  return { headers: cookieHeader === undefined ? {} : { cookie: cookieHeader }, secure: false } as unknown as Request;
}

/** The request a browser sends back after `value` was set (Express URL-encodes cookie values). */
function carrying(value: string): Request {
  return requestWith(`${COOKIE}=${encodeURIComponent(value)}`);
}

function setup(start = T0) {
  const time = { now: start };
  const clock = () => time.now;
  const logger = recordingLogger();
  const rememberMe = createRememberMe({ secrets: [KEY], cookieName: COOKIE, maxAgeMs: MAX_AGE_MS }, clock, logger);
  // The same key and purpose as the cookie's: lets a test seal payloads the app never writes.
  const sealer = createSealer([KEY], "remember-me", { now: clock });
  return { time, logger, rememberMe, sealer };
}

const TOKEN = new OAuthToken({ accessToken: "access-0123", tokenType: "Bearer", expiresAt: T0 / 1000 + 3600, refreshToken: "refresh-0123" });

function login(overrides: Partial<RememberedLogin> = {}): RememberedLogin {
  return {
    provider: "idp",
    token: TOKEN.toJson(),
    fetchUser: true,
    fetchGroups: false,
    scope: ["openid", "profile"],
    since: T0,
    series: "series-0123456789abcdef",
    nonce: "nonce-0123456789abcdef",
    ...overrides,
  };
}

/** Writes `l` at the current clock and returns the sealed value the response got. */
async function written(rememberMe: ReturnType<typeof createRememberMe>, l: RememberedLogin): Promise<string> {
  const { res, state } = recordingResponse();
  await rememberMe.write(requestWith(), res, l);
  expect(state.written).toHaveLength(1);
  return state.written[0]!.value;
}

describe("remember-me cookie: remaining and present", () => {
  it("remaining() is maxAge from now for a new period, and what is left of it for a period that began at since", () => {
    const { rememberMe } = setup();
    expect(rememberMe.remaining(undefined)).toBe(MAX_AGE_MS);
    expect(rememberMe.remaining(T0 - DAY_MS)).toBe(MAX_AGE_MS - DAY_MS);
    expect(rememberMe.remaining(T0 - MAX_AGE_MS)).toBe(0);
  });

  it("present() is true only when the Cookie header carries the cookie's name with a value", () => {
    const { rememberMe } = setup();
    expect(rememberMe.present(requestWith())).toBe(false);
    expect(rememberMe.present(requestWith("other=1; flet-auth.sid=abc"))).toBe(false);
    // A name that merely starts with the cookie's name, without "=", is not the cookie.
    expect(rememberMe.present(requestWith(`${COOKIE}X; other=1`))).toBe(false);
    expect(rememberMe.present(requestWith(`other=1; ${COOKIE}=anything`))).toBe(true);
  });
});

describe("remember-me cookie: read", () => {
  it("round-trips what write sealed, and the Fernet timestamp is the app's clock, not the wall clock", async () => {
    const { rememberMe } = setup();
    const value = await written(rememberMe, login());
    const stamp = Buffer.from(value, "base64url").readBigUInt64BE(1);
    expect(Number(stamp)).toBe(Math.floor(T0 / 1000));
    expect(await rememberMe.read(carrying(value))).toEqual(login());
  });

  it("the Fernet timestamp alone bounds a cookie's life: sealed more than maxAge ago, it is refused whatever its since says", async () => {
    const { time, rememberMe } = setup();
    // A period said to begin later than the cookie was sealed: only the Fernet TTL can refuse it.
    const value = await written(rememberMe, login({ since: T0 + 10 * DAY_MS }));
    time.now = T0 + 6 * DAY_MS;
    expect(await rememberMe.read(carrying(value)), "six days after sealing, within maxAge").toBeDefined();
    time.now = T0 + 8 * DAY_MS;
    expect(await rememberMe.read(carrying(value)), "eight days after sealing, past the seven-day maxAge").toBeUndefined();
  });

  it("a cookie whose remembered period is over reads as nothing, from exactly maxAge after since on", async () => {
    const { time, rememberMe } = setup();
    // Sealed just now (the Fernet TTL is far), but the period began almost maxAge ago.
    const value = await written(rememberMe, login({ since: T0 - MAX_AGE_MS + 1000 }));
    time.now = T0 + 999;
    expect(await rememberMe.read(carrying(value))).toBeDefined();
    time.now = T0 + 1000;
    expect(await rememberMe.read(carrying(value))).toBeUndefined();
  });

  it("an authentic payload of the wrong shape reads as nothing, never as an error", async () => {
    const { rememberMe, sealer } = setup();
    for (const text of ["not json", "null", "[1,2]", JSON.stringify({ provider: "idp" }), JSON.stringify({ ...login(), since: "yesterday" })]) {
      await expect(rememberMe.read(carrying(await sealer.seal(text))), text).resolves.toBeUndefined();
    }
  });

  it("a scope with anything but strings reads as nothing (control: the same scope as strings is accepted)", async () => {
    const { rememberMe, sealer } = setup();
    const bad = await sealer.seal(JSON.stringify({ ...login(), scope: ["openid", 42] }));
    expect(await rememberMe.read(carrying(bad))).toBeUndefined();
    const good = await sealer.seal(JSON.stringify({ ...login(), scope: ["openid", "42"] }));
    expect(await rememberMe.read(carrying(good))).toMatchObject({ scope: ["openid", "42"] });
  });

  it("a cookie over 8 KiB is refused before it is opened, even when it is authentic", async () => {
    const { rememberMe, sealer } = setup();
    const big = await sealer.seal(JSON.stringify(login({ scope: ["x".repeat(7000)] })));
    expect(big.length).toBeGreaterThan(8192);
    expect(await sealer.open(big), "authentic: the key opens it").toBeDefined();
    expect(await rememberMe.read(carrying(big))).toBeUndefined();
  });
});

describe("remember-me cookie: write and clear", () => {
  it("a period already over is cleared, not written — from exactly maxAge after since on", async () => {
    const { rememberMe } = setup();
    const { res, state } = recordingResponse();
    await rememberMe.write(requestWith(), res, login({ since: T0 - MAX_AGE_MS }));
    expect(state.written).toEqual([]);
    expect(state.cleared).toEqual([COOKIE]);

    const control = recordingResponse();
    await rememberMe.write(requestWith(), control.res, login({ since: T0 - MAX_AGE_MS + 1 }));
    expect(control.state.written).toMatchObject([{ name: COOKIE, options: { maxAge: 1 } }]);
  });

  it("writes nothing to a response already sent — and does not warn about a cookie it was never going to write", async () => {
    const { logger, rememberMe } = setup();
    const { res, state } = recordingResponse(true);
    const huge = new OAuthToken({ accessToken: `eyJ${"a".repeat(5000)}`, tokenType: "Bearer", expiresAt: T0 / 1000 + 3600 });
    await rememberMe.write(requestWith(), res, login({ token: huge.toJson() }));
    expect(state.written).toEqual([]);
    expect(state.cleared).toEqual([]);
    expect(logger.warn).not.toHaveBeenCalled();
  });

  it("writes nothing when the response is sent while the cookie is being sealed", async () => {
    const { rememberMe } = setup();
    const { res, state } = recordingResponse();
    const pending = rememberMe.write(requestWith(), res, login());
    // write() checked headersSent synchronously and is now awaiting the sealer.
    state.sent = true;
    await pending;
    expect(state.written).toEqual([]);
  });

  it("an oversized cookie without a refresh token to keep is not written, with the documented warning", async () => {
    const { logger, rememberMe } = setup();
    const { res, state } = recordingResponse();
    const huge = new OAuthToken({ accessToken: `eyJ${"a".repeat(5000)}`, tokenType: "Bearer", expiresAt: T0 / 1000 + 3600 });
    await rememberMe.write(requestWith(), res, login({ token: huge.toJson() }));
    expect(state.written).toEqual([]);
    expect(logger.warn).toHaveBeenCalledTimes(1);
    expect(logger.warn).toHaveBeenCalledWith(TOO_LARGE_WARNING);
  });

  it("clear() clears the cookie, but never on a response already sent", () => {
    const { rememberMe } = setup();
    const open = recordingResponse();
    rememberMe.clear(requestWith(), open.res);
    expect(open.state.cleared).toEqual([COOKIE]);
    const sent = recordingResponse(true);
    rememberMe.clear(requestWith(), sent.res);
    expect(sent.state.cleared).toEqual([]);
  });
});

describe("readCookie (RFC 6265 §5.4 Cookie header)", () => {
  const read = (header: string, name = COOKIE): string | undefined => readCookie(requestWith(header), name);

  it("finds the named pair among others, trimmed of the spaces around it", () => {
    expect(read(`a=1; ${COOKIE}=abc ; b=2`)).toBe("abc");
    expect(read(`a=1;${COOKIE}=  abc;b=2`)).toBe("abc");
    expect(read("a=1; b=2")).toBeUndefined();
  });

  it("a one-character name is found (the '=' at index 1)", () => {
    expect(read("r=value", "r")).toBe("value");
    expect(read("x=1; r=value", "r")).toBe("value");
  });

  it("a pair without '=' is skipped, even when it starts with the name", () => {
    expect(read(`${COOKIE}X`)).toBeUndefined();
    expect(read(`${COOKIE}X; ${COOKIE}=real`)).toBe("real");
  });

  it("strips one pair of surrounding double quotes, and only a pair", () => {
    expect(read(`${COOKIE}="abc"`)).toBe("abc");
    expect(read(`${COOKIE}="abc`)).toBe('"abc');
    expect(read(`${COOKIE}=abc"`)).toBe('abc"');
    expect(read(`${COOKIE}=""`)).toBe("");
  });

  it("URL-decodes the value; the first pair of the name decides, and an undecodable one reads as no cookie", () => {
    expect(read(`${COOKIE}=a%20b%3D`)).toBe("a b=");
    expect(read(`${COOKIE}=first; ${COOKIE}=second`)).toBe("first");
    expect(read(`${COOKIE}=%E0%A4%A; ${COOKIE}=second`)).toBeUndefined();
  });
});
