import type { CompletePageTemplate } from "./complete-page.js";

/** A complete-page template given as a function: it cannot be stored in the session. */
export type PageFunction = Exclude<CompletePageTemplate, string>;

/** Holds function templates for the lifetime of a login transaction, referenced from the session. */
export interface PageRegistry {
  add(template: PageFunction, nowMs: number): string;
  take(ref: string | undefined): PageFunction | undefined;
  readonly size: number;
}

/**
 * A bounded registry with expiry. Every entry lives `ttlMs`, so insertion order is expiry order:
 * expired entries are dropped from the front, O(1) per insert, and at `maxEntries` the oldest
 * goes first (its login then answers the default page). Anonymous requests cannot grow it
 * without bound.
 */
export function createPageRegistry(ttlMs: number, randomId: () => string, maxEntries = 10_000): PageRegistry {
  const entries = new Map<string, { template: PageFunction; expiresAt: number }>();
  return {
    add(template, nowMs) {
      for (const [ref, e] of entries) {
        if (e.expiresAt > nowMs && entries.size < maxEntries) break;
        entries.delete(ref);
      }
      const ref = randomId();
      entries.set(ref, { template, expiresAt: nowMs + ttlMs });
      return ref;
    },
    take(ref) {
      if (ref === undefined) return undefined;
      const entry = entries.get(ref);
      entries.delete(ref);
      return entry?.template;
    },
    get size() {
      return entries.size;
    },
  };
}
