import { READ_NOW, type FletAuthStore } from "./store.js";

/** Options of {@link createMemoryStore}. */
export interface MemoryStoreOptions {
  /** Most keys kept; at the cap the entry closest to expiry goes first. @default 100000 */
  readonly maxEntries?: number;
  /** Milliseconds clock. @default Date.now */
  readonly clock?: () => number;
}

/**
 * The default {@link FletAuthStore}: a map in this process. Records do not reach other
 * instances; with several instances, use `createRedisStore()`.
 *
 * @example
 * fletAuth({ providers, secret, store: createMemoryStore({ maxEntries: 10_000 }) });
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): FletAuthStore {
  const maxEntries = options.maxEntries ?? 100_000;
  const clock = options.clock ?? Date.now;
  if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new TypeError("createMemoryStore: options.maxEntries must be a positive integer");
  if (typeof clock !== "function") throw new TypeError("createMemoryStore: options.clock must be a function returning milliseconds");
  const entries = new Map<string, { value: string; expiresAt: number }>();

  const live = (key: string, now: number): { value: string; expiresAt: number } | undefined => {
    const entry = entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt > now) return entry;
    entries.delete(key);
    return undefined;
  };
  const put = (key: string, value: string, ttlMs: number, now: number): void => {
    entries.delete(key);
    // Insertion order: the oldest entries come first. Expired ones leave from the front; at the
    // cap the oldest leaves even if live (bounded memory beats an unbounded map under abuse).
    for (const [k, e] of entries) {
      // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent to reads (an expired entry is never returned); only how soon its memory is freed differs.
      const live = e.expiresAt > now;
      if (live && entries.size < maxEntries) break;
      entries.delete(k);
    }
    entries.set(key, { value, expiresAt: now + ttlMs });
  };

  const readNow = (keys: readonly string[]): Array<string | undefined> => {
    const now = clock();
    const values: Array<string | undefined> = [];
    for (const key of keys) values.push(live(key, now)?.value);
    return values;
  };

  const store: FletAuthStore = {
    getMany(keys: readonly string[]) {
      return Promise.resolve(readNow(keys));
    },
    set(key: string, value: string, ttlMs: number, setOptions?: { readonly ifAbsent?: boolean }) {
      const now = clock();
      if (setOptions?.ifAbsent === true && live(key, now) !== undefined) return Promise.resolve(false);
      put(key, value, ttlMs, now);
      return Promise.resolve(true);
    },
    swap(key: string, expected: string, value: string, ttlMs: number) {
      const now = clock();
      if (live(key, now)?.value !== expected) return Promise.resolve(false);
      put(key, value, ttlMs, now);
      return Promise.resolve(true);
    },
    delete(key: string) {
      entries.delete(key);
      return Promise.resolve();
    },
  };
  // Not enumerable: the store's public face stays FletAuthStore's four methods.
  Object.defineProperty(store, READ_NOW, { value: readNow });
  return Object.freeze(store);
}
