import { createExpiringMap } from "../util/expiring-map.js";

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
 * An in-process set with expiry, O(1) per claim (lib/util/expiring-map.ts). At `maxEntries` the
 * oldest claim goes even if unexpired; by then its transaction has long been consumed in its
 * session, which is what refuses a replay of the same browser's callback.
 */
export function createClaimedStates(maxEntries = 100_000): ClaimedStates {
  const claimed = createExpiringMap<true>(maxEntries);
  return {
    claim(key, expiresAt, nowMs) {
      if (claimed.get(key, nowMs) !== undefined) return false;
      claimed.set(key, true, expiresAt, nowMs);
      return true;
    },
    get size() {
      return claimed.size;
    },
  };
}
