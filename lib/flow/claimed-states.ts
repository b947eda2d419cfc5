/**
 * States whose callback has started to be handled. Concurrent callbacks with one state each read
 * their own copy of the session, so the session alone cannot make a state single-use
 * (checklist 10); this set can.
 */
export interface ClaimedStates {
  /** Claims `key` until `expiresAt`; false when it was already claimed and has not expired. */
  claim(key: string, expiresAt: number, nowMs: number): boolean;
  readonly size: number;
}

/**
 * An in-process set with expiry. Every claim lives as long as a login (the same TTL), so
 * insertion order is expiry order: expired claims leave from the front, O(1) per claim. At
 * `maxEntries` the oldest claim goes even if unexpired; by then its transaction has long been
 * consumed in its session, which is what refuses a replay of the same browser's callback.
 */
export function createClaimedStates(maxEntries = 100_000): ClaimedStates {
  const claimed = new Map<string, number>();
  return {
    claim(key, expiresAt, nowMs) {
      const until = claimed.get(key);
      if (until !== undefined && until > nowMs) return false;
      for (const [k, t] of claimed) {
        if (t > nowMs && claimed.size < maxEntries) break;
        claimed.delete(k);
      }
      claimed.delete(key);
      claimed.set(key, expiresAt);
      return true;
    },
    get size() {
      return claimed.size;
    },
  };
}
