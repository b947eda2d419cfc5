/**
 * A sign-in as kept in the session store: the whole record sealed (checklist 26, issue "store
 * integrity"), so an edit of the stored user id, groups, scope or lifetimes is not believed — a
 * tampered entry reads as signed out. Opened entries are kept in a small cache keyed by the sealed
 * text, so a signed-in request pays the HMAC and AES once per sealed value, not once per request.
 */
import { OAuthToken } from "../oauth/token.js";
import type { Sealer } from "../crypto/sealer.js";
import { createBoundedMap } from "../util/bounded-map.js";
import { isRecord } from "../util/records.js";
import type { User } from "./user.js";

/** One sign-in of one provider. */
export interface SignInRecord {
  /** Random id of this sign-in: ended sign-ins are recorded by it, refreshes are shared by it. */
  readonly id: string;
  /** The provider name; must equal the session key the record is stored under. */
  readonly provider: string;
  /** Flet's token JSON. */
  readonly token: string;
  readonly user: User | undefined;
  readonly fetchUser: boolean;
  readonly fetchGroups: boolean;
  readonly scope: readonly string[];
  /** When the sign-in happened (ms): the absolute lifetime counts from here; refreshes never move it. */
  readonly signedInAt: number;
  /** When the sign-in was last used (ms, coarse): the idle lifetime counts from here. */
  readonly seenAt: number;
  /** How many refreshes this sign-in's token went through: orders copies of it (newer wins). */
  readonly refreshes: number;
  /** The remember-me series this sign-in writes, if any. */
  readonly series?: string | undefined;
  /** OpenID Connect: the last verified ID token (the `id_token_hint` of RP-initiated logout). */
  readonly idToken?: string | undefined;
  /** OpenID Connect: its verified claims (`req.auth.claims`). */
  readonly claims?: Readonly<Record<string, unknown>> | undefined;
}

/** An opened record with its parsed token. */
export interface OpenedRecord {
  readonly record: SignInRecord;
  readonly token: OAuthToken;
}

/** Opened records by sealed text, bounded; a tampered text never opens, so it is never cached. */
export interface RecordCache {
  get(sealed: string): OpenedRecord | undefined;
  set(sealed: string, opened: OpenedRecord): void;
}

export function createRecordCache(maxEntries = 2_000): RecordCache {
  return createBoundedMap<OpenedRecord>(maxEntries);
}

/** What sealing and opening records needs: the session-token sealer and the cache of opened records. */
export interface RecordKeeper {
  readonly tokens: Sealer;
  readonly records: RecordCache;
}

/** Seals `record` for the session store. */
export async function sealRecord(rt: RecordKeeper, record: SignInRecord): Promise<string> {
  const sealed = await rt.tokens.seal(JSON.stringify(record));
  rt.records.set(sealed, { record: deepFreeze({ ...record }), token: OAuthToken.fromJson(record.token) });
  return sealed;
}

/** The record sealed in `sealed` for provider `name`, or undefined when it does not open or is malformed. */
export async function openRecord(rt: RecordKeeper, name: string, sealed: unknown): Promise<OpenedRecord | undefined> {
  if (typeof sealed !== "string") return undefined;
  const cached = rt.records.get(sealed);
  if (cached !== undefined) return cached.record.provider === name ? cached : undefined;
  const text = await rt.tokens.open(sealed);
  if (text === undefined) return undefined;
  let opened: OpenedRecord | undefined;
  try {
    const record = parseRecord(JSON.parse(text));
    opened = record === undefined ? undefined : { record, token: OAuthToken.fromJson(record.token) };
  } catch {
    opened = undefined;
  }
  if (opened === undefined) return undefined;
  rt.records.set(sealed, opened);
  // Sealed under another provider's key in the session (entries swapped in the store): refused.
  return opened.record.provider === name ? opened : undefined;
}

function parseRecord(value: unknown): SignInRecord | undefined {
  if (!isRecord(value)) return undefined;
  const { id, provider, token, user, fetchUser, fetchGroups, scope, signedInAt, seenAt, series, refreshes, idToken, claims } = value;
  if (typeof id !== "string" || typeof provider !== "string" || typeof token !== "string") return undefined;
  if (typeof fetchUser !== "boolean" || typeof fetchGroups !== "boolean") return undefined;
  if (!Array.isArray(scope) || !scope.every((s) => typeof s === "string")) return undefined;
  if (typeof signedInAt !== "number" || typeof seenAt !== "number" || typeof refreshes !== "number") return undefined;
  if (series !== undefined && typeof series !== "string") return undefined;
  if ((idToken !== undefined && typeof idToken !== "string") || (claims !== undefined && !isRecord(claims))) return undefined;
  if (user !== undefined && user !== null && !(isRecord(user) && typeof user["id"] === "string" && Array.isArray(user["groups"]))) return undefined;
  return Object.freeze({
    id,
    provider,
    token,
    user: user === undefined || user === null ? undefined : deepFreeze(user as User),
    fetchUser,
    fetchGroups,
    scope: Object.freeze([...(scope as string[])]),
    signedInAt,
    seenAt,
    refreshes,
    ...(series !== undefined ? { series } : {}),
    ...(typeof idToken === "string" ? { idToken } : {}),
    ...(isRecord(claims) ? { claims: deepFreeze(claims) } : {}),
  });
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
