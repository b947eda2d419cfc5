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

/** What the store says about live sign-ins: which ended elsewhere, and their newest tokens. */
export interface SignInState {
  readonly ended: ReadonlySet<string>;
  /** By sign-in id: `<refreshes>|<sealed token>` written by the last refresh. */
  readonly latest: ReadonlyMap<string, string>;
}

/** Which of `records` were ended elsewhere, and their newest tokens, in one store round trip. */
export async function signInState(config: FletAuthConfig, records: readonly SignInRecord[]): Promise<SignInState> {
  const ended = new Set<string>();
  const latest = new Map<string, string>();
  if (records.length === 0) return { ended, latest };
  const PER = 6;
  const keys = records.flatMap((r) => {
    const sid = typeof r.claims?.["sid"] === "string" ? r.claims["sid"] : undefined;
    const sub = typeof r.claims?.["sub"] === "string" ? r.claims["sub"] : undefined;
    return [
      storeKeys.endedSignIn(r.id),
      r.user ? storeKeys.userEndedBefore(r.provider, r.user.id) : storeKeys.endedSignIn(r.id),
      storeKeys.latestToken(r.id),
      sid !== undefined ? storeKeys.providerSessionEnded(r.provider, sid) : storeKeys.endedSignIn(r.id),
      sub !== undefined ? storeKeys.subjectEndedBefore(r.provider, sub) : storeKeys.endedSignIn(r.id),
      r.series !== undefined ? storeKeys.endedSeries(r.series) : storeKeys.endedSignIn(r.id),
    ];
  });
  const values = await config.store.getMany(keys);
  // "<=": everything signed in up to the moment of the sign-out ends.
  const before = (value: string | undefined, signedInAt: number): boolean => value !== undefined && Number(value) >= signedInAt;
  records.forEach((r, i) => {
    const at = PER * i;
    if (
      values[at] !== undefined ||
      (r.user !== undefined && before(values[at + 1], r.signedInAt)) ||
      (typeof r.claims?.["sid"] === "string" && before(values[at + 3], r.signedInAt)) ||
      (typeof r.claims?.["sub"] === "string" && before(values[at + 4], r.signedInAt)) ||
      // A stolen remember-me cookie came back: every sign-in of its series ends, however recent.
      (r.series !== undefined && values[at + 5] !== undefined)
    ) {
      ended.add(r.id);
    }
    const newest = values[at + 2];
    if (newest !== undefined) latest.set(r.id, newest);
  });
  return { ended, latest };
}

/** Records `sealed`, the token after refresh number `refreshes`, as sign-in `id`'s newest. */
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
