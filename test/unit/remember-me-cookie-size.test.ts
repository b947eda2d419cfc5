/**
 * Regression (code review): browsers silently drop cookies over 4096 bytes, and large JWT access
 * tokens (Entra ID) made the remember-me cookie that large. An oversized cookie now keeps only the
 * refresh token (access token emptied, expired, so the restore refreshes first), or — with no
 * refresh token to keep — is not written at all, with one warning.
 */
import type { Request, Response } from "express";
import { describe, expect, it } from "vitest";
import { OAuthToken } from "../../lib/index.js";
import { createRememberMe, type RememberedLogin } from "../../lib/remember-me/cookie.js";
import { recordingLogger } from "../helpers/review-harness.js";

const COOKIE = "flet-auth.remember";
const KEY = "remember-me-key-0123456789abcdef0123";
const NOW_MS = 1_800_000_000_000;
const NOW_S = NOW_MS / 1000;
/** Room browsers keep for one cookie, name and attributes included (RFC 6265 §6.1). */
const BROWSER_LIMIT = 4096;

interface WrittenCookie {
  name: string;
  value: string;
  options: Record<string, unknown>;
}

/** A response that records cookie writes; headers never sent. */
function recordingResponse(): { res: Response; written: WrittenCookie[]; cleared: string[] } {
  const written: WrittenCookie[] = [];
  const cleared: string[] = [];
  const res = {
    headersSent: false,
    cookie(name: string, value: string, options: Record<string, unknown> = {}) {
      written.push({ name, value, options });
      return res;
    },
    clearCookie(name: string) {
      cleared.push(name);
      return res;
    },
  };
  return { res: res as unknown as Response, written, cleared };
}

/** A request carrying `cookie` (as the browser sends it back: URL-encoded, as Express wrote it). */
function requestWith(cookie?: string): Request {
  return { headers: cookie === undefined ? {} : { cookie }, secure: false } as unknown as Request;
}

function setup() {
  const logger = recordingLogger();
  const rememberMe = createRememberMe({ secrets: [KEY], cookieName: COOKIE, maxAgeMs: 30 * 86_400_000 }, () => NOW_MS, logger);
  return { logger, rememberMe };
}

function login(token: OAuthToken): RememberedLogin {
  return {
    provider: "azure",
    series: "series-0123456789abcdef",
    nonce: "nonce-0123456789abcdef",
    token: token.toJson(),
    fetchUser: true,
    fetchGroups: false,
    scope: ["openid", "profile", "email", "offline_access", "User.Read"],
    since: NOW_MS,
  };
}

const BIG_ACCESS_TOKEN = `eyJ${"a".repeat(3000)}`;
const REFRESH_TOKEN = "refresh-token-0123456789abcdef0123456789abcdef";

describe("remember-me cookie size", () => {
  it("an oversized token with a refresh token is written as a ≤ 3,800-char cookie holding only the refresh token", async () => {
    const { logger, rememberMe } = setup();
    const { res, written, cleared } = recordingResponse();
    const token = new OAuthToken({ accessToken: BIG_ACCESS_TOKEN, tokenType: "Bearer", expiresAt: NOW_S + 3600, refreshToken: REFRESH_TOKEN, scope: ["openid", "User.Read"] });

    await rememberMe.write(requestWith(), res, login(token));

    expect(cleared).toEqual([]);
    expect(written.length).toBe(1);
    const [cookie] = written;
    expect(cookie!.name).toBe(COOKIE);
    expect(cookie!.value.length).toBeLessThanOrEqual(3800);
    expect(`${COOKIE}=${encodeURIComponent(cookie!.value)}`.length).toBeLessThan(BROWSER_LIMIT);
    expect(logger.warn).not.toHaveBeenCalled();

    const back = await rememberMe.read(requestWith(`${COOKIE}=${encodeURIComponent(cookie!.value)}`));
    expect(back).toBeDefined();
    expect(back).toMatchObject({ provider: "azure", fetchUser: true, fetchGroups: false, since: NOW_MS });
    const restored = JSON.parse(back!.token) as Record<string, unknown>;
    expect(restored["access_token"]).toBe("");
    expect(restored["expires_at"]).toBe(0);
    expect(restored["refresh_token"]).toBe(REFRESH_TOKEN);
    // The restore sees an expired token and refreshes before anything else.
    expect(OAuthToken.fromJson(back!.token).isExpiring(NOW_MS, 60)).toBe(true);
  });

  it("control: a token that fits is written whole", async () => {
    const { logger, rememberMe } = setup();
    const { res, written } = recordingResponse();
    const token = new OAuthToken({ accessToken: "small-access-token", tokenType: "Bearer", expiresAt: NOW_S + 3600, refreshToken: REFRESH_TOKEN });

    await rememberMe.write(requestWith(), res, login(token));

    expect(written.length).toBe(1);
    const back = await rememberMe.read(requestWith(`${COOKIE}=${encodeURIComponent(written[0]!.value)}`));
    expect(back?.token).toBe(token.toJson());
    expect(logger.warn).not.toHaveBeenCalled();
  });

  it("an oversized token without a refresh token writes nothing and warns once", async () => {
    const { logger, rememberMe } = setup();
    const { res, written, cleared } = recordingResponse();
    const token = new OAuthToken({ accessToken: BIG_ACCESS_TOKEN, tokenType: "Bearer", expiresAt: NOW_S + 3600 });

    await rememberMe.write(requestWith(), res, login(token));

    expect(written).toEqual([]);
    expect(cleared).toEqual([]);
    expect(logger.warn).toHaveBeenCalledTimes(1);
    expect(logger.error).not.toHaveBeenCalled();
  });
});
