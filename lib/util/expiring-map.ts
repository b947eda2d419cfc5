/**
 * A bounded map whose entries expire, with O(1) amortised inserts: the insertion order is kept in
 * an array read from a moving head (a Map iterator would walk the deleted slots V8 leaves at the
 * front of a hash table, which grows with churn). Entries are inserted with non-decreasing
 * expiry times in practice (same TTL for all), so expired ones leave from the front; at the cap
 * the oldest leaves even if live.
 */
export interface ExpiringMap<V> {
  /** The live value of `key`, or undefined. */
  get(key: string, nowMs: number): V | undefined;
  set(key: string, value: V, expiresAt: number, nowMs: number): void;
  delete(key: string): void;
  readonly size: number;
}

export function createExpiringMap<V>(maxEntries: number): ExpiringMap<V> {
  const entries = new Map<string, { value: V; expiresAt: number; seq: number }>();
  let order: Array<{ key: string; seq: number }> = [];
  let head = 0;
  let seq = 0;

  const evict = (nowMs: number): void => {
    while (head < order.length) {
      const front = order[head] as { key: string; seq: number };
      const entry = entries.get(front.key);
      // A slot whose key was deleted or set again since: nothing to evict here.
      if (entry === undefined || entry.seq !== front.seq) {
        head += 1;
        continue;
      }
      if (entry.expiresAt > nowMs && entries.size < maxEntries) break;
      entries.delete(front.key);
      head += 1;
    }
    // Compact now and then, so the array does not grow without bound.
    if (head > 1024 && head * 2 > order.length) {
      order = order.slice(head);
      head = 0;
    }
  };

  return {
    get(key, nowMs) {
      const entry = entries.get(key);
      if (entry === undefined) return undefined;
      if (entry.expiresAt > nowMs) return entry.value;
      entries.delete(key);
      return undefined;
    },
    set(key, value, expiresAt, nowMs) {
      evict(nowMs);
      seq += 1;
      entries.set(key, { value, expiresAt, seq });
      order.push({ key, seq });
    },
    delete(key) {
      entries.delete(key);
    },
    get size() {
      return entries.size;
    },
  };
}
