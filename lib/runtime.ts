import type { EventEmitter } from "node:events";
import type { RequestHandler } from "express";
import type { CompletePageTemplate } from "./pages/complete-page.js";
import type { FletAuthConfig } from "./config.js";
import type { Sealer } from "./crypto/sealer.js";
import type { RememberMe } from "./remember-me/cookie.js";

/** Everything one `fletAuth()` instance shares across requests. No module-level state: two instances never interact. */
export interface Runtime {
  readonly config: FletAuthConfig;
  readonly emitter: EventEmitter;
  /** Seals tokens kept in the session store (encrypted at rest, checklist 26). */
  readonly tokens: Sealer;
  readonly rememberMe: RememberMe | undefined;
  /** Per-login complete pages given as functions: kept in memory, referenced from the session. */
  readonly pages: PageRegistry;
  /** States whose callback this process has started to handle (single use across concurrent requests). */
  readonly usedStates: UsedStates;
  /** express-session mounted by flet-auth when the app has none. */
  readonly ownSession: RequestHandler | undefined;
}

/** Holds function templates for the lifetime of a login transaction. */
export interface PageRegistry {
  add(template: Exclude<CompletePageTemplate, string>, nowMs: number): string;
  take(ref: string | undefined): Exclude<CompletePageTemplate, string> | undefined;
}

/** A small registry with expiry, so abandoned logins do not leak their templates. */
export function createPageRegistry(ttlMs: number, randomId: () => string): PageRegistry {
  const entries = new Map<string, { template: Exclude<CompletePageTemplate, string>; expiresAt: number }>();
  return {
    add(template, nowMs) {
      for (const [ref, e] of entries) if (e.expiresAt <= nowMs) entries.delete(ref);
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
  };
}

/** A set of claimed state keys, each kept until the login it belonged to would have expired anyway. */
export interface UsedStates {
  /** Claims `key`; false when it was already claimed and has not expired. */
  claim(key: string, expiresAt: number, nowMs: number): boolean;
}

export function createUsedStates(): UsedStates {
  const claimed = new Map<string, number>();
  return {
    claim(key, expiresAt, nowMs) {
      const until = claimed.get(key);
      if (until !== undefined && until > nowMs) return false;
      if (claimed.size >= 1024) for (const [k, t] of claimed) if (t <= nowMs) claimed.delete(k);
      claimed.set(key, expiresAt);
      return true;
    },
  };
}
