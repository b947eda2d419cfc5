/**
 * When a sign-in stops counting (checklist 24): idle and absolute lifetimes, enforced server-side
 * from the sealed record, and sign-ins ended elsewhere (a logout, "sign out everywhere",
 * back-channel logout), recorded in the shared store.
 */
import type { FletAuthConfig } from "../config.js";
import type { LogoutReason } from "../events.js";
import { storeKeys } from "../store/store.js";
import type { SignInRecord } from "./records.js";

/** Longest a store record is kept (with `absoluteTimeoutMs: Infinity`): the longest a lifetime option may be. */
const MAX_RECORD_MS = 400 * 86_400_000;

/** Why `record` no longer counts by its own clock, or undefined while it does. */
export function expiry(record: SignInRecord, now: number, config: FletAuthConfig): LogoutReason | undefined {
  if (now - record.signedInAt >= config.absoluteTimeoutMs) return "absolute_timeout";
  if (now - record.seenAt >= config.idleTimeoutMs) return "idle_timeout";
  return undefined;
}

/**
 * How stale `seenAt` may get before a request rewrites it: 1/24 of the idle lifetime, at most an
 * hour. Requests that only read leave the session untouched in between (no store write).
 */
export function seenAtDue(record: SignInRecord, now: number, config: FletAuthConfig): boolean {
  return now - record.seenAt >= Math.min(config.idleTimeoutMs / 24, 3_600_000);
}

/** How many store keys {@link endedKeys} gives per record. */
export const ENDED_KEYS = 5;

/**
 * The store keys that say whether `record` was ended elsewhere, in a fixed order (its own `ended:`
 * key first; a key that does not apply repeats it). They depend only on what a sign-in keeps for
 * its whole life (provider, user, ID-token `sid`/`sub`, series), so they can be cached by id.
 */
export function endedKeys(r: SignInRecord): string[] {
  const own = storeKeys.endedSignIn(r.id);
  const sid = typeof r.claims?.["sid"] === "string" ? r.claims["sid"] : undefined;
  const sub = typeof r.claims?.["sub"] === "string" ? r.claims["sub"] : undefined;
  return [
    own,
    r.user ? storeKeys.userEndedBefore(r.provider, r.user.id) : own,
    sid !== undefined ? storeKeys.providerSessionEnded(r.provider, sid) : own,
    sub !== undefined ? storeKeys.subjectEndedBefore(r.provider, sub) : own,
    r.series !== undefined ? storeKeys.endedSeries(r.series) : own,
  ];
}

/** Whether `record` was ended elsewhere, from the values of its {@link endedKeys} (from `values[at]` on). */
export function isEnded(r: SignInRecord, values: ReadonlyArray<string | undefined>, at = 0): boolean {
  return (
    values[at] !== undefined ||
    (r.user !== undefined && endedSince(values[at + 1], r.signedInAt)) ||
    (typeof r.claims?.["sid"] === "string" && endedSince(values[at + 2], r.signedInAt)) ||
    (typeof r.claims?.["sub"] === "string" && endedSince(values[at + 3], r.signedInAt)) ||
    // A stolen remember-me cookie came back: every sign-in of its series ends, however recent.
    (r.series !== undefined && values[at + 4] !== undefined)
  );
}

/** "<=": everything signed in up to the moment of the sign-out ends. */
function endedSince(value: string | undefined, signedInAt: number): boolean {
  return value !== undefined && Number(value) >= signedInAt;
}

/**
 * How long an ended record is kept in the store after its idle or absolute lifetime: a browser
 * that comes back within it gets the `logout` event (`idle_timeout`, `absolute_timeout`); one that
 * comes back later is simply signed out.
 */
export const RECORD_LINGER_MS = 7 * 86_400_000;

/**
 * How long the store keeps `record` from `now`: until its idle or absolute lifetime ends,
 * whichever comes first, plus {@link RECORD_LINGER_MS} (a record rewritten with a newer `seenAt`
 * lives on).
 */
export function recordTtlMs(record: SignInRecord, now: number, config: FletAuthConfig): number {
  const absolute = record.signedInAt + config.absoluteTimeoutMs - now;
  const idle = record.seenAt + config.idleTimeoutMs - now;
  // Both lifetimes off (Infinity): kept for a century, which every store can express.
  return Math.max(1, Math.min(Math.min(absolute, idle) + RECORD_LINGER_MS, 100 * 365 * 86_400_000));
}

/** Records `sealed`, the token after refresh number `refreshes`, as sign-in `id`'s newest (records kept in the session). */
export async function recordLatestToken(config: FletAuthConfig, id: string, refreshes: number, sealed: string): Promise<void> {
  await config.store.set(storeKeys.latestToken(id), `${refreshes}|${sealed}`, Math.min(config.absoluteTimeoutMs, MAX_RECORD_MS));
}

/** Records sign-in `id` as ended, for as long as it could otherwise live. */
export async function endSignIn(config: FletAuthConfig, id: string): Promise<void> {
  await config.store.set(storeKeys.endedSignIn(id), "1", Math.min(config.absoluteTimeoutMs, MAX_RECORD_MS));
}

/** "Sign out everywhere": ends every sign-in and remember-me series of this user made until now. */
export async function endUser(config: FletAuthConfig, provider: string, userId: string, now: number): Promise<void> {
  const ttl = Math.min(Math.max(config.absoluteTimeoutMs, config.rememberMe?.maxAgeMs ?? 0), MAX_RECORD_MS);
  await config.store.set(storeKeys.userEndedBefore(provider, userId), String(now), ttl);
}
