/**
 * The small key-value store behind flet-auth's server-side records that several instances must
 * agree on: remember-me series, ended sign-ins ("sign out everywhere", logout racing a request,
 * back-channel logout) and claimed login states. The session store holds a browser's session;
 * this store holds what must outlive or reach across sessions, and the sign-ins themselves
 * (sealed records, a few KiB each), so that the session stays as small as an app's own.
 *
 * Values are strings; every key expires. The in-memory default serves one process;
 * `createRedisStore()` serves several instances sharing Redis.
 */
export interface FletAuthStore {
  /** The values of `keys`, `undefined` for missing or expired ones, in one round trip. */
  getMany(keys: readonly string[]): Promise<Array<string | undefined>>;
  /**
   * Sets `key` to `value` for `ttlMs`. With `ifAbsent`, only when the key does not exist (an
   * atomic claim). Resolves to whether the value was written.
   */
  set(key: string, value: string, ttlMs: number, options?: { readonly ifAbsent?: boolean }): Promise<boolean>;
  /** Atomically replaces `expected` by `value` (for `ttlMs`); false when the key holds something else or nothing. */
  swap(key: string, expected: string, value: string, ttlMs: number): Promise<boolean>;
  /** Removes `key`; nothing happens when it does not exist. */
  delete(key: string): Promise<void>;
}

/**
 * A synchronous `getMany` that flet-auth's in-memory store also carries, under this symbol (not
 * exported from the package): a signed-in request whose sign-in is read from it settles without a
 * promise (lib/signin/stored.ts `loadSignInsNow`). Stores that do I/O leave it out.
 */
export const READ_NOW = Symbol("flet-auth.readNow");

/** A store that may answer reads synchronously. */
export type MaybeReadsNow = FletAuthStore & { readonly [READ_NOW]?: (keys: readonly string[]) => Array<string | undefined> };

/** The store's keys, in one place, so the memory and Redis stores and the callers agree. */
export const storeKeys = Object.freeze({
  /** A remember-me series: its current cookie nonce and owner. */
  series: (id: string) => `series:${id}`,
  /** A sign-in that ended (logout, back-channel logout): it reads as signed out everywhere. */
  endedSignIn: (id: string) => `ended:${id}`,
  /** A remember-me series revoked because a rotated cookie came back: its sign-ins end too. */
  endedSeries: (id: string) => `ended-series:${id}`,
  /** "Sign out everywhere": sign-ins and series of this user created before the value (ms) are ended. */
  userEndedBefore: (provider: string, userId: string) => `user:${provider}:${userId.slice(0, 200)}`,
  /** Back-channel logout by session: sign-ins of provider `provider` with ID-token `sid` made before the value (ms) end. */
  providerSessionEnded: (provider: string, sid: string) => `oidc-sid:${provider}:${sid.slice(0, 200)}`,
  /** Back-channel logout by subject: sign-ins of `sub` at `provider` made before the value (ms) end. */
  subjectEndedBefore: (provider: string, sub: string) => `oidc-sub:${provider}:${sub.slice(0, 200)}`,
  /** A logout token's `jti`, kept so it cannot be replayed. */
  logoutTokenId: (issuer: string, jti: string) => `oidc-jti:${issuer.slice(0, 200)}:${jti.slice(0, 200)}`,
  /** A sign-in's newest token (sealed), so a stale copy of a session holding its record heals. */
  latestToken: (id: string) => `latest:${id}`,
  /** A sign-in's record, sealed (lib/signin/stored.ts): the session holds only the id. */
  signIn: (id: string) => `signin:${id}`,
  /** A login state whose callback has started (single use across instances). */
  claimedState: (hash: string) => `state:${hash}`,
});
