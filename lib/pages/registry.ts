import { createExpiringMap } from "../util/expiring-map.js";
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
 * A bounded registry with expiry, O(1) per insert (lib/util/expiring-map.ts): abandoned logins
 * do not leak their templates, and anonymous requests cannot grow it without bound. At
 * `maxEntries` the oldest goes first (its login then answers the default page).
 */
export function createPageRegistry(ttlMs: number, randomId: () => string, maxEntries = 10_000): PageRegistry {
  const entries = createExpiringMap<PageFunction>(maxEntries);
  return {
    add(template, nowMs) {
      const ref = randomId();
      entries.set(ref, template, nowMs + ttlMs, nowMs);
      return ref;
    },
    take(ref) {
      if (ref === undefined) return undefined;
      // Taken once; an expired entry is as good as gone (its login expired with it).
      const template = entries.get(ref, Number.NEGATIVE_INFINITY);
      entries.delete(ref);
      return template;
    },
    get size() {
      return entries.size;
    },
  };
}
