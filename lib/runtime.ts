import type { EventEmitter } from "node:events";
import type { RequestHandler } from "express";
import type { FletAuthConfig } from "./config.js";
import type { Sealer } from "./crypto/sealer.js";
import type { ClaimedStates } from "./flow/claimed-states.js";
import type { PageRegistry } from "./pages/registry.js";
import type { RememberMe } from "./remember-me/cookie.js";
import type { KeySets } from "./oidc/id-token.js";
import type { RecordCache } from "./signin/records.js";
import type { EndedKeyCache } from "./signin/stored.js";
import type { DeadlineQueue } from "./util/deadline-queue.js";

/** Everything one `fletAuth()` instance shares across requests. No module-level state: two instances never interact. */
export interface Runtime {
  readonly config: FletAuthConfig;
  /** flet-auth's own emitter: only flet-auth emits on it; the middleware exposes `on`/`once`/`off`. */
  readonly emitter: EventEmitter;
  /** Seals the sign-in records kept in the store (encrypted at rest, checklist 26). */
  readonly tokens: Sealer;
  readonly rememberMe: RememberMe | undefined;
  /** Per-login complete pages given as functions: kept in memory, referenced from the session. */
  readonly pages: PageRegistry;
  /** States whose callback this process has started to handle (single use across concurrent requests). */
  readonly claimedStates: ClaimedStates;
  /** Opened sign-in records by sealed text (one HMAC + AES per sealed value, not per request). */
  readonly records: RecordCache;
  /** The store keys that tell whether a sign-in ended elsewhere, by sign-in id. */
  readonly endedKeys: EndedKeyCache;
  /** OpenID Connect key sets by JWKS URI (jose caches keys and rate-limits refetches). */
  readonly keySets: KeySets;
  /** Providers already warned about tokens that live no longer than the refresh margin. */
  readonly warnedShortLived: Set<string>;
  /** Providers already warned about a login started on an origin their `redirectUrl` does not name. */
  readonly warnedOrigins: Set<string>;
  /** express-session mounted by flet-auth when the app has none (created on first need). */
  readonly ownSession: () => RequestHandler;
  /** The deadlines of session loads (`storeTimeoutMs`), on one timer. */
  readonly storeDeadlines: DeadlineQueue;
}
