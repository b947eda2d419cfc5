/**
 * Remember-me series, server-side ("improved persistent login cookie" scheme): every cookie
 * belongs to a series recorded in the store with the cookie's current nonce. Logout revokes the
 * series; each use (a restore) rotates the nonce; presenting a nonce the series has moved past
 * means two browsers hold copies of one cookie — likely a stolen one — so the series is revoked.
 */
import type { FletAuthConfig } from "../config.js";
import { storeKeys } from "../store/store.js";
import { isRecord } from "../util/records.js";

/** What the store keeps per series. */
interface SeriesRecord {
  /** The nonce of the cookie that is current. */
  readonly nonce: string;
  /** The nonce before the last rotation, accepted for a moment (concurrent requests of one browser). */
  readonly previous?: string;
  readonly rotatedAt: number;
  readonly provider: string;
  readonly userId?: string;
  /** OpenID Connect: the first sign-in's `sid` and `sub`, so a back-channel logout revokes the series too. */
  readonly sid?: string;
  readonly sub?: string;
  readonly createdAt: number;
}

/** How long after a rotation the previous nonce still counts as the same browser's (requests already in flight). */
export const ROTATION_GRACE_MS = 10_000;

/** What a presented series cookie is. */
export type SeriesCheck =
  /** The current cookie (or the previous one, moments after a rotation: the same browser's concurrent request). */
  | { readonly kind: "valid" }
  /** No such series (revoked, expired, signed out everywhere). */
  | { readonly kind: "revoked" }
  /** An already-rotated cookie: the series is now revoked. */
  | { readonly kind: "reused" };

const random = (config: FletAuthConfig): string => Buffer.from(config.randomBytes(18)).toString("base64url");

/** Starts a series for a new remembered sign-in; resolves to its id and first nonce. */
export async function startSeries(
  config: FletAuthConfig,
  provider: string,
  owner: { readonly userId?: string | undefined; readonly sid?: string | undefined; readonly sub?: string | undefined },
  ttlMs: number,
): Promise<{ id: string; nonce: string }> {
  const now = config.clock();
  const id = random(config);
  const nonce = random(config);
  const record: SeriesRecord = {
    nonce,
    rotatedAt: now,
    provider,
    createdAt: now,
    // An undefined owner field is left out by JSON.stringify.
    userId: owner.userId,
    sid: owner.sid,
    sub: owner.sub,
  };
  await config.store.set(storeKeys.series(id), JSON.stringify(record), ttlMs);
  return { id, nonce };
}

/** Checks cookie `nonce` of series `id` before a restore; an already-rotated cookie revokes the series. */
export async function checkSeries(config: FletAuthConfig, id: string, nonce: string): Promise<SeriesCheck> {
  const key = storeKeys.series(id);
  const [raw] = await config.store.getMany([key]);
  const record = raw === undefined ? undefined : parse(raw);
  if (record === undefined) return { kind: "revoked" };
  // Signed out everywhere, or at the provider (back-channel logout), since the series began.
  const owners = [
    record.userId !== undefined ? storeKeys.userEndedBefore(record.provider, record.userId) : undefined,
    record.sid !== undefined ? storeKeys.providerSessionEnded(record.provider, record.sid) : undefined,
    record.sub !== undefined ? storeKeys.subjectEndedBefore(record.provider, record.sub) : undefined,
  ].filter((k): k is string => k !== undefined);
  // Stryker disable next-line ArrayDeclaration: equivalent, a non-numeric entry never counts (NaN >= x is false).
  const endedBefore = owners.length === 0 ? [] : await config.store.getMany(owners);
  // A missing marker (undefined) is NaN as a number, and NaN >= x is false.
  if (endedBefore.some((value) => Number(value) >= record.createdAt)) {
    await config.store.delete(key);
    return { kind: "revoked" };
  }
  if (nonce === record.nonce || isGraced(record, nonce, config.clock())) return { kind: "valid" };
  // Two browsers hold this series: revoke it, and end the sign-ins already restored from it
  // (the thief's among them), wherever they are.
  await config.store.delete(key);
  await config.store.set(storeKeys.endedSeries(id), String(config.clock()), ttlOf(config));
  return { kind: "reused" };
}

/**
 * Rotates series `id` away from cookie `nonce` once the restore has succeeded: resolves to the
 * new nonce to write, or `undefined` when a concurrent request of the same browser rotated it
 * first (that response carries the new cookie), or `"revoked"` when the series ended meanwhile.
 */
export async function rotateSeries(config: FletAuthConfig, id: string, nonce: string, ttlMs: number): Promise<string | undefined | "revoked"> {
  const key = storeKeys.series(id);
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const [raw] = await config.store.getMany([key]);
    const record = raw === undefined ? undefined : parse(raw);
    if (raw === undefined || record === undefined) return "revoked";
    const now = config.clock();
    if (nonce !== record.nonce) return isGraced(record, nonce, now) ? undefined : "revoked";
    const next = random(config);
    if (await config.store.swap(key, raw, JSON.stringify({ ...record, nonce: next, previous: nonce, rotatedAt: now }), ttlMs)) return next;
  }
  return undefined;
}

/** How long an ended-series mark must live: as long as a sign-in restored from it could. */
function ttlOf(config: FletAuthConfig): number {
  return Math.min(Math.max(config.absoluteTimeoutMs, config.rememberMe?.maxAgeMs ?? 0), 400 * 86_400_000);
}

function isGraced(record: SeriesRecord, nonce: string, now: number): boolean {
  return nonce === record.previous && now - record.rotatedAt < ROTATION_GRACE_MS;
}

/** Revokes series `id`: its cookies, wherever they are, sign nobody in again. */
export async function revokeSeries(config: FletAuthConfig, id: string): Promise<void> {
  await config.store.delete(storeKeys.series(id));
}

function parse(raw: string): SeriesRecord | undefined {
  try {
    const value: unknown = JSON.parse(raw);
    if (!isRecord(value)) return undefined;
    const { nonce, previous, rotatedAt, provider, userId, createdAt, sid, sub } = value;
    if (typeof nonce !== "string" || typeof rotatedAt !== "number" || typeof provider !== "string" || typeof createdAt !== "number") return undefined;
    return {
      nonce,
      rotatedAt,
      provider,
      createdAt,
      ...(typeof previous === "string" ? { previous } : {}),
      ...(typeof userId === "string" ? { userId } : {}),
      ...(typeof sid === "string" ? { sid } : {}),
      ...(typeof sub === "string" ? { sub } : {}),
    };
  } catch {
    return undefined;
  }
}
