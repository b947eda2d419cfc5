/**
 * Cookie plumbing for the remember-me and tokens-at-rest suites: reading Set-Cookie headers,
 * signing in with explicit Cookie headers (no cookie jar, so Secure cookies still flow over
 * plain http behind a pretend proxy), forging and damaging Fernet-shaped values, and re-signing
 * an express-session cookie with another secret.
 */
import { createHmac, randomBytes } from "node:crypto";
import type { Express } from "express";
import request from "supertest";
import type { FakeProvider } from "./fake-provider.js";

/** Every Set-Cookie header line of a response (supertest gives a string, an array or nothing). */
export function setCookies(res: { headers: Record<string, unknown> }): string[] {
  const raw = res.headers["set-cookie"];
  if (raw === undefined) return [];
  return Array.isArray(raw) ? raw.map(String) : [String(raw)];
}

/** The Set-Cookie line for `name`, if the response set (or cleared) that cookie. */
export function findSetCookie(res: { headers: Record<string, unknown> }, name: string): string | undefined {
  return setCookies(res).find((line) => line.startsWith(`${name}=`));
}

/** The value of a Set-Cookie line exactly as the browser will send it back (still URL-encoded). */
export function cookieValue(line: string): string {
  const pair = line.split(";")[0] ?? "";
  return pair.slice(pair.indexOf("=") + 1);
}

/** The attributes of a Set-Cookie line, lower-cased names; flags map to `true`. */
export function cookieAttributes(line: string): Map<string, string | true> {
  const out = new Map<string, string | true>();
  for (const part of line.split(";").slice(1)) {
    const trimmed = part.trim();
    if (trimmed === "") continue;
    const eq = trimmed.indexOf("=");
    if (eq === -1) out.set(trimmed.toLowerCase(), true);
    else out.set(trimmed.slice(0, eq).trim().toLowerCase(), trimmed.slice(eq + 1).trim());
  }
  return out;
}

/** True when the line deletes the cookie: empty value and an expiry in the past (or Max-Age ≤ 0). */
export function isClearing(line: string): boolean {
  const attrs = cookieAttributes(line);
  const expires = attrs.get("expires");
  const maxAge = attrs.get("max-age");
  const past = (typeof expires === "string" && Date.parse(expires) < Date.now()) || (typeof maxAge === "string" && Number(maxAge) <= 0);
  return cookieValue(line) === "" && past;
}

/** `name=value` pairs for a Cookie header. */
export function cookieHeader(cookies: Readonly<Record<string, string>>): string {
  return Object.entries(cookies)
    .map(([name, value]) => `${name}=${value}`)
    .join("; ");
}

/** Merges a response's Set-Cookie lines into a jar of raw values (cleared cookies are removed). */
export function absorb(jar: Record<string, string>, res: { headers: Record<string, unknown> }): Record<string, string> {
  for (const line of setCookies(res)) {
    const name = line.slice(0, line.indexOf("="));
    if (isClearing(line)) delete jar[name];
    else jar[name] = cookieValue(line);
  }
  return jar;
}

/**
 * A whole sign-in with hand-carried cookies and extra headers on every request to the app (e.g.
 * `X-Forwarded-Proto: https`). Returns the callback response and the resulting jar.
 */
export async function signInWithHeaders(
  app: Express,
  fake: FakeProvider,
  loginPath: string,
  headers: Readonly<Record<string, string>>,
): Promise<{ callback: request.Response; jar: Record<string, string> }> {
  const jar: Record<string, string> = {};
  const start = await request(app).get(loginPath).set(headers);
  if (start.status !== 302) throw new Error(`login start answered ${start.status}: ${start.text}`);
  absorb(jar, start);
  const callbackUrl = new URL(await fake.authorize(start.headers["location"] as string));
  const callback = await request(app)
    .get(`${callbackUrl.pathname}${callbackUrl.search}`)
    .set(headers)
    .set("Cookie", cookieHeader(jar));
  absorb(jar, callback);
  return { callback, jar };
}

/** Random Fernet-shaped bytes (version 0x80, a current timestamp, random IV, body and MAC). */
export function forgedFernet(nowMs = Date.now(), bodyBlocks = 6): string {
  const header = Buffer.alloc(9);
  header[0] = 0x80;
  header.writeBigUInt64BE(BigInt(Math.floor(nowMs / 1000)), 1);
  return Buffer.concat([header, randomBytes(16 + 16 * bodyBlocks + 32)]).toString("base64url");
}

/**
 * The cookie value (URL-encoded Fernet, base64url with padding) with one bit flipped in the
 * decoded byte at `index` (negative counts from the end), re-encoded the same way.
 */
export function flipBit(rawCookie: string, index: number): string {
  const token = decodeURIComponent(rawCookie);
  const bytes = Buffer.from(token, "base64url");
  const at = index < 0 ? bytes.length + index : index;
  bytes[at] = (bytes[at] as number) ^ 0x01;
  const padded = bytes.toString("base64url");
  const pad = "=".repeat((4 - (padded.length % 4)) % 4);
  return encodeURIComponent(`${padded}${pad}`);
}

/** The session id inside an express-session cookie value (`s:<sid>.<signature>`, URL-encoded). */
export function sessionIdOf(rawCookie: string): string {
  const value = decodeURIComponent(rawCookie);
  if (!value.startsWith("s:")) throw new Error(`not a signed express-session cookie: ${value}`);
  return value.slice(2, value.lastIndexOf("."));
}

/** An express-session cookie value for `sid` signed with `secret` (cookie-signature's format). */
export function signSessionId(sid: string, secret: string): string {
  const mac = createHmac("sha256", secret).update(sid).digest("base64").replace(/=+$/, "");
  return encodeURIComponent(`s:${sid}.${mac}`);
}
