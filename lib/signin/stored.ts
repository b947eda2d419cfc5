/**
 * Where sign-ins live. With a store the app chose (`store` option), or while sessions live in
 * express-session's MemoryStore anyway, each record is sealed in the flet-auth store under its
 * sign-in id and the session holds only the id: express-session parses, hashes and compares the
 * whole session on every request, so a session that carried the records (a few KiB with OpenID
 * Connect's JWTs) made every signed-in request pay for them. With a persistent or shared session
 * store and only the in-memory flet-auth store, the sealed record stays in the session (it must
 * survive a restart and reach the other instances as the session does).
 *
 * One store round trip per request reads the records and whether they were ended elsewhere: the
 * keys that say so depend only on what a sign-in keeps for life, so they are cached by id after
 * the first request of a sign-in (which makes a second round trip).
 */
import type { Request } from "express";
import type { FletAuthConfig } from "../config.js";
import { OAuthToken } from "../oauth/token.js";
import { sessionIsProcessLocal } from "../session/session.js";
import { READ_NOW, storeKeys, type MaybeReadsNow } from "../store/store.js";
import { createBoundedMap } from "../util/bounded-map.js";
import { ENDED_KEYS, endedKeys, isEnded, recordTtlMs } from "./lifetime.js";
import { openRecord, sealRecord, type OpenedRecord, type RecordKeeper, type SignInRecord } from "./records.js";

/** What a request reads for a known sign-in id: its record key, then its ended markers (lifetime.ts endedKeys); bounded. */
export interface EndedKeyCache {
  get(id: string): readonly string[] | undefined;
  set(id: string, keys: readonly string[]): void;
}

export function createEndedKeyCache(maxEntries = 10_000): EndedKeyCache {
  return createBoundedMap<readonly string[]>(maxEntries);
}

/** What reading and writing stored sign-ins needs. */
export interface SignInStore extends RecordKeeper {
  readonly config: FletAuthConfig;
  readonly endedKeys: EndedKeyCache;
}

/** One sign-in named in the session, as found. */
export interface StoredSignIn {
  readonly name: string;
  /** The sign-in id (for a record kept in the session: its id once opened, else the session value). */
  readonly id: string;
  /** The record; undefined when it is gone (expired, removed by a logout or a revoked grant, tampered with, another sign-in's). */
  readonly opened: OpenedRecord | undefined;
  /** The sealed text as read: what a compare-and-swap rewrite expects. */
  readonly sealed: string | undefined;
  /** Ended elsewhere: a logout, "sign out everywhere", back-channel logout, a stolen series. */
  readonly ended: boolean;
  /** The record is kept in the session itself: rewriting it means writing the session. */
  readonly inSession: boolean;
  /** Kept in the session, and the store knew a newer token than this copy (now in `opened`). */
  readonly healed: boolean;
}

/** Sign-in ids are 16 random bytes in base64url (commit.ts); a sealed record is far longer. */
const SIGN_IN_ID = /^[A-Za-z0-9_-]{22}$/;

type Found = { -readonly [K in keyof StoredSignIn]: StoredSignIn[K] };

/**
 * The keys a request reads for a stored record: the record, then its ended markers. Memoised per
 * (frozen, cached) record object: a signed-in request computes no keys.
 */
const readKeys = new WeakMap<SignInRecord, readonly string[]>();
function keysToRead(record: SignInRecord): readonly string[] {
  let keys = readKeys.get(record);
  if (keys === undefined) {
    keys = [storeKeys.signIn(record.id), ...endedKeys(record)];
    readKeys.set(record, keys);
  }
  return keys;
}

const sameKeys = (a: readonly string[], b: readonly string[]): boolean => a === b || (a.length === b.length && a.every((k, i) => k === b[i]));

type Plan = { readonly at: number; readonly keys: readonly string[] };

/**
 * The sign-ins `refs` (provider name, session value: an id, or a sealed record) as stored, in order.
 *
 * Almost every signed-in request names one sign-in by id, seen before (its keys cached) and opened
 * before (its record cached): that request takes one store read and no async function. An async
 * function suspended on the read keeps its frame and its loop iterators on the heap (about 1.6 KB
 * per request here); anything else takes the general path below, with the values already read.
 */
export function loadSignIns(rt: SignInStore, refs: ReadonlyArray<readonly [name: string, value: string]>): Promise<StoredSignIn[]> {
  const keys = knownKeys(rt, refs);
  if (keys === undefined) return loadAll(rt, refs);
  const [name, id] = refs[0] as readonly [string, string];
  return rt.config.store.getMany(keys).then((values) => known(rt, name, id, keys, values) ?? settle(rt, [unread(name, id)], [{ at: 0, keys }], values));
}

/**
 * {@link loadSignIns} without a promise, for the common case it can serve: one sign-in seen
 * and opened before, in a store that reads synchronously (flet-auth's in-memory store). Undefined
 * otherwise: the caller takes {@link loadSignIns}, which reads again.
 */
export function loadSignInsNow(rt: SignInStore, refs: ReadonlyArray<readonly [name: string, value: string]>): StoredSignIn[] | undefined {
  // Own property only: a wrapper made with Object.create(memoryStore) inherits the symbol, and
  // its own getMany (counting, logging) must still see every read.
  const store = rt.config.store as MaybeReadsNow;
  const readNow = Object.hasOwn(store, READ_NOW) ? store[READ_NOW] : undefined;
  const keys = readNow === undefined ? undefined : knownKeys(rt, refs);
  if (readNow === undefined || keys === undefined) return undefined;
  const [name, id] = refs[0] as readonly [string, string];
  return known(rt, name, id, keys, readNow(keys));
}

/** The keys to read for `refs` when they name one sign-in by an id seen before; else undefined. */
function knownKeys(rt: SignInStore, refs: ReadonlyArray<readonly [name: string, value: string]>): readonly string[] | undefined {
  return refs.length === 1 ? rt.endedKeys.get((refs[0] as readonly [string, string])[1]) : undefined;
}

/** The sign-in as read with its known `keys`, when its record is cached and is this sign-in's; else undefined (to settle). */
function known(rt: SignInStore, name: string, id: string, keys: readonly string[], values: ReadonlyArray<string | undefined>): StoredSignIn[] | undefined {
  const sealed = values[0];
  const opened = sealed === undefined ? undefined : rt.records.get(sealed);
  if (opened === undefined || opened.record.provider !== name || opened.record.id !== id || keysToRead(opened.record) !== keys) return undefined;
  return [{ name, id, opened, sealed, ended: isEnded(opened.record, values, 1), inSession: false, healed: false }];
}

/** A sign-in named by id, not read yet. */
const unread = (name: string, id: string): Found => ({ name, id, opened: undefined, sealed: undefined, ended: false, inSession: false, healed: false });

/** {@link loadSignIns} for any `refs`: what to read for each, one read, then {@link settle}. */
async function loadAll(rt: SignInStore, refs: ReadonlyArray<readonly [name: string, value: string]>): Promise<StoredSignIn[]> {
  const found: Found[] = [];
  const plans: Plan[] = [];
  for (const [name, value] of refs) {
    if (isSignInId(value)) {
      // Known sign-in: the record and its ended markers; else the record and its own marker.
      const keys = rt.endedKeys.get(value) ?? [storeKeys.signIn(value), storeKeys.endedSignIn(value)];
      found.push(unread(name, value));
      plans.push({ at: found.length - 1, keys });
      continue;
    }
    // Awaited only on a cache miss (the sealer): an `await` on a value still yields.
    const opening = openStored(rt, name, value);
    const opened = opening instanceof Promise ? await opening : opening;
    found.push({ name, id: opened?.record.id ?? value, opened, sealed: value, ended: false, inSession: true, healed: false });
    if (opened !== undefined) plans.push({ at: found.length - 1, keys: [...endedKeys(opened.record), storeKeys.latestToken(opened.record.id)] });
  }
  const values = plans.length === 0 ? [] : await rt.config.store.getMany(plans.length === 1 ? (plans[0] as Plan).keys : plans.flatMap((p) => p.keys));
  return settle(rt, found, plans, values);
}

/** Completes `found` from the `values` read for `plans`: records opened, ended markers checked, a second read for ids seen for the first time. */
async function settle(rt: SignInStore, found: Found[], plans: readonly Plan[], values: ReadonlyArray<string | undefined>): Promise<StoredSignIn[]> {
  const again: Plan[] = [];
  let offset = 0;
  for (const plan of plans) {
    const entry = found[plan.at] as Found;
    const at = offset;
    offset += plan.keys.length;
    if (entry.inSession) {
      const opened = entry.opened as OpenedRecord;
      entry.ended = isEnded(opened.record, values, at);
      const latest = values[at + ENDED_KEYS];
      const healed = latest === undefined ? undefined : await newest(rt, opened, latest);
      if (healed !== undefined) Object.assign(entry, { opened: healed, healed: true });
      continue;
    }
    const sealed = values[at];
    const opening = sealed === undefined ? undefined : openStored(rt, entry.name, sealed);
    const opened = opening instanceof Promise ? await opening : opening;
    // A record filed under another id (entries swapped in the store) is not this sign-in.
    if (opened === undefined || opened.record.id !== entry.id) {
      entry.ended = values[at + 1] !== undefined;
      continue;
    }
    const wanted = keysToRead(opened.record);
    const known = sameKeys(wanted, plan.keys);
    entry.opened = opened;
    entry.sealed = sealed;
    entry.ended = known && isEnded(opened.record, values, at + 1);
    // The cache holds the very array `keysToRead` memoises for the record, which the fast path
    // compares by identity: a rewritten record (the hourly seenAt: same keys, new array) takes
    // its place, or this sign-in would never take the fast path again on this instance.
    if (wanted !== plan.keys) rt.endedKeys.set(entry.id, wanted);
    if (!known) again.push({ at: plan.at, keys: wanted.slice(1) });
  }
  if (again.length > 0) {
    const more = await rt.config.store.getMany(again.flatMap((a) => a.keys));
    again.forEach((a, j) => {
      const entry = found[a.at] as Found;
      entry.ended = isEnded((entry.opened as OpenedRecord).record, more, j * ENDED_KEYS);
    });
  }
  return found;
}

/**
 * A record kept in the session with the newest token the store knows for its sign-in, when that
 * is newer than this copy (a request that loaded the session before a refresh wrote its stale
 * copy back), else undefined.
 */
async function newest(rt: SignInStore, stored: OpenedRecord, latest: string): Promise<OpenedRecord | undefined> {
  const bar = latest.indexOf("|");
  if (!(Number(latest.slice(0, bar)) > stored.record.refreshes)) return undefined;
  const json = await rt.tokens.open(latest.slice(bar + 1));
  if (json === undefined) return undefined;
  try {
    return { record: { ...stored.record, token: json, refreshes: Number(latest.slice(0, bar)) }, token: OAuthToken.fromJson(json) };
  } catch {
    return undefined;
  }
}

/** Opened from the cache without a promise (the common case), else opened and cached. */
function openStored(rt: SignInStore, name: string, sealed: string): OpenedRecord | undefined | Promise<OpenedRecord | undefined> {
  const hit = rt.records.get(sealed);
  if (hit === undefined) return openRecord(rt, name, sealed);
  return hit.record.provider === name ? hit : undefined;
}

/** Whether this request's new sign-ins go to the flet-auth store (see the top of this file). */
export function recordsInStore(rt: SignInStore, req: Request): boolean {
  return rt.config.storeGiven || sessionIsProcessLocal(req);
}

/**
 * Seals `record` where this request keeps sign-ins; resolves to what the session holds for it:
 * its id (the record stored under it for the rest of its lifetime), or the sealed record itself.
 */
export async function persistSignIn(rt: SignInStore, req: Request, record: SignInRecord): Promise<string> {
  if (!recordsInStore(rt, req)) return sealRecord(rt, record);
  await storeSignIn(rt, record);
  return record.id;
}

/** Seals `record` and stores it under its id for the rest of its lifetime. */
export async function storeSignIn(rt: SignInStore, record: SignInRecord): Promise<void> {
  const sealed = await sealRecord(rt, record);
  await rt.config.store.set(storeKeys.signIn(record.id), sealed, recordTtlMs(record, rt.config.clock(), rt.config));
}

/**
 * Rewrites `record` only if the store still holds `expected` (compare-and-swap): a request that
 * read the record before a refresh stored a newer token never writes the older one back.
 */
export async function rewriteSignIn(rt: SignInStore, expected: string, record: SignInRecord): Promise<boolean> {
  const sealed = await sealRecord(rt, record);
  return rt.config.store.swap(storeKeys.signIn(record.id), expected, sealed, recordTtlMs(record, rt.config.clock(), rt.config));
}

/**
 * Replaces a stored record by `update(record)` with compare-and-swap, reading it again when
 * another write landed in between (a `seenAt` rewrite). False when the record was removed or the
 * sign-in ended meanwhile — a logout between a refresh's read and its write must not bring the
 * record back. `update` returns undefined when there is nothing to write.
 */
export async function updateSignIn(rt: SignInStore, found: StoredSignIn, update: (record: SignInRecord) => SignInRecord | undefined): Promise<boolean> {
  let current: StoredSignIn | undefined = found;
  for (let attempt = 0; attempt < 3 && current !== undefined; attempt += 1) {
    if (current.opened === undefined || current.sealed === undefined || current.ended) return false;
    const next = update(current.opened.record);
    if (next === undefined || (await rewriteSignIn(rt, current.sealed, next))) return true;
    [current] = await loadSignIns(rt, [[current.name, current.id]]);
  }
  return false;
}

/** Whether a session value is a sign-in id (the record in the store), not a sealed record. */
export function isSignInId(value: string): boolean {
  return SIGN_IN_ID.test(value);
}

/** Removes sign-in `id`'s record (its sealed tokens leave the store). */
export function removeSignIn(rt: SignInStore, id: string): Promise<void> {
  return rt.config.store.delete(storeKeys.signIn(id));
}
