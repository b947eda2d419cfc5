/**
 * Stores the sign-in record suites can look into and damage:
 *
 * - {@link createInspectableStore}: a {@link FletAuthStore} on a Map, keys expiring on an injected
 *   clock, that also lists what it holds (`entries()`) and when each key expires.
 * - {@link JsonSessionStore}: an express-session store that keeps each session as JSON text in a
 *   Map, like a network store would, and that is NOT express-session's MemoryStore — so with the
 *   default flet-auth store, the sealed records stay in the session ("session mode",
 *   lib/signin/stored.ts).
 */
import session from "express-session";
import type { SessionData } from "express-session";
import type { FletAuthStore } from "../../lib/store/store.js";

/** A {@link FletAuthStore} whose content the test can read. */
export interface InspectableStore extends FletAuthStore {
  /** The live (unexpired) entries, key → value, oldest write first. */
  entries(): Map<string, string>;
  /** When `key` expires (ms, on the store's clock), or undefined when it is missing or expired. */
  expiresAt(key: string): number | undefined;
}

/** A Map-backed store; every key expires `ttlMs` after its write, as `clock` tells. */
export function createInspectableStore(clock: () => number): InspectableStore {
  const map = new Map<string, { value: string; expiresAt: number }>();
  const live = (key: string): { value: string; expiresAt: number } | undefined => {
    const entry = map.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt > clock()) return entry;
    map.delete(key);
    return undefined;
  };
  const put = (key: string, value: string, ttlMs: number): void => {
    if (!(ttlMs > 0) || !Number.isFinite(ttlMs)) throw new RangeError(`store: ttlMs must be a positive finite number, got ${ttlMs} for ${key}`);
    map.delete(key);
    map.set(key, { value, expiresAt: clock() + ttlMs });
  };
  return {
    getMany: (keys) => Promise.resolve(keys.map((key) => live(key)?.value)),
    set(key, value, ttlMs, options) {
      if (options?.ifAbsent === true && live(key) !== undefined) return Promise.resolve(false);
      put(key, value, ttlMs);
      return Promise.resolve(true);
    },
    swap(key, expected, value, ttlMs) {
      if (live(key)?.value !== expected) return Promise.resolve(false);
      put(key, value, ttlMs);
      return Promise.resolve(true);
    },
    delete(key) {
      map.delete(key);
      return Promise.resolve();
    },
    entries() {
      const out = new Map<string, string>();
      for (const key of [...map.keys()]) {
        const entry = live(key);
        if (entry !== undefined) out.set(key, entry.value);
      }
      return out;
    },
    expiresAt: (key) => live(key)?.expiresAt,
  };
}

/** A read held by {@link holdingReads}: its values were taken when it arrived; the caller gets them on release. */
export interface HeldRead {
  /** Resolves with the keys once the read arrived (its values are already taken). */
  readonly arrived: Promise<readonly string[]>;
  release(): void;
}

/**
 * `inner` whose next read matching `holdNextRead`'s predicate takes its values at once but answers
 * only when the test releases it: "the caller read the store, then something changed before it
 * acted on what it read" becomes a fact the test orders, not a timing guess.
 */
export function holdingReads<S extends FletAuthStore>(inner: S): S & { holdNextRead(matches: (keys: readonly string[]) => boolean): HeldRead } {
  const holds: Array<{ matches: (keys: readonly string[]) => boolean; arrived: (keys: readonly string[]) => void; released: Promise<void> }> = [];
  return {
    ...inner,
    getMany(keys: readonly string[]) {
      const values = inner.getMany(keys);
      const at = holds.findIndex((h) => h.matches(keys));
      if (at === -1) return values;
      const [hold] = holds.splice(at, 1);
      hold!.arrived([...keys]);
      return hold!.released.then(() => values);
    },
    holdNextRead(matches) {
      let arrived!: (keys: readonly string[]) => void;
      let release!: () => void;
      const arrival = new Promise<readonly string[]>((resolve) => (arrived = resolve));
      const released = new Promise<void>((resolve) => (release = resolve));
      holds.push({ matches, arrived, released });
      return { arrived: arrival, release };
    },
  };
}

/** A session as stored: express-session's cookie, flet-auth's part, the app's keys. */
export interface StoredSession {
  cookie: unknown;
  fletAuth?: { auths?: Record<string, unknown>; current?: string; [k: string]: unknown };
  [k: string]: unknown;
}

/**
 * An express-session store keeping each session as JSON text (what a network store holds),
 * answering asynchronously, or with `{ sync: true }` in the caller's own call (as no network
 * store can, and express-session's MemoryStore does not). Sessions do not expire here (the tests'
 * cookies are session cookies).
 */
export class JsonSessionStore extends session.Store {
  /** Session id → the session's JSON text, as written. */
  readonly sessions = new Map<string, string>();
  readonly #answer: (fn: () => void) => void;

  constructor(options: { readonly sync?: boolean } = {}) {
    super();
    this.#answer = options.sync === true ? (fn) => fn() : (fn) => void setImmediate(fn);
  }

  override get(sid: string, callback: (err: unknown, data?: SessionData | null) => void): void {
    const raw = this.sessions.get(sid);
    this.#answer(() => {
      if (raw === undefined) return callback(null, null);
      let data: SessionData;
      try {
        data = JSON.parse(raw) as SessionData;
      } catch (err) {
        return callback(err);
      }
      callback(null, data);
    });
  }

  override set(sid: string, data: SessionData, callback?: (err?: unknown) => void): void {
    this.sessions.set(sid, JSON.stringify(data));
    this.#answer(() => callback?.());
  }

  override destroy(sid: string, callback?: (err?: unknown) => void): void {
    this.sessions.delete(sid);
    this.#answer(() => callback?.());
  }

  override touch(sid: string, data: SessionData, callback?: () => void): void {
    const raw = this.sessions.get(sid);
    if (raw !== undefined) this.sessions.set(sid, JSON.stringify({ ...(JSON.parse(raw) as object), cookie: data.cookie }));
    this.#answer(() => callback?.());
  }

  override all(callback: (err: unknown, obj?: Record<string, SessionData> | null) => void): void {
    const all: Record<string, SessionData> = {};
    for (const [sid, raw] of this.sessions) all[sid] = JSON.parse(raw) as SessionData;
    this.#answer(() => callback(null, all));
  }

  override length(callback: (err: unknown, length?: number) => void): void {
    this.#answer(() => callback(null, this.sessions.size));
  }

  override clear(callback?: (err?: unknown) => void): void {
    this.sessions.clear();
    this.#answer(() => callback?.());
  }

  /** The session `sid` as stored (throws when there is none). */
  read(sid: string): StoredSession {
    const raw = this.sessions.get(sid);
    if (raw === undefined) throw new Error(`no session ${sid} in the store`);
    return JSON.parse(raw) as StoredSession;
  }

  /** Replaces what is stored for `sid` (a tampered or stale copy). */
  write(sid: string, data: StoredSession): void {
    this.sessions.set(sid, JSON.stringify(data));
  }
}
