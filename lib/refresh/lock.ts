/**
 * Single-flight refresh. With rotating refresh tokens (RFC 9700 §4.14.2, Auth0, oidc-provider)
 * a second refresh with the same refresh token is rejected and may revoke the whole grant, so
 * every concurrent caller must share one token-endpoint request.
 */

/**
 * Turns a refresh result into text for a shared store and back. flet-auth's codec seals the
 * token with the session-token key, so a shared store never holds a plaintext token.
 */
export interface RefreshCodec<T> {
  /** The text a shared store keeps for `value`. */
  encode(value: T): Promise<string>;
  /** Rejects when `text` is not something `encode` wrote with this app's secret. */
  decode(text: string): Promise<T>;
}

/**
 * Coordinates refreshes. `run(key, refresh, codec)` starts `refresh` unless one for `key` is in
 * flight (or finished successfully within the grace period) and gives every caller that one
 * outcome. The in-process default covers one Node process and ignores `codec`; a distributed
 * implementation such as `createRedisRefreshLock` shares the outcome between processes
 * through `codec` and is plugged in with `fletAuth({ refreshLock })`.
 */
export interface RefreshLock {
  /**
   * Resolves with the outcome of the one `refresh` for `key`: started here when none is in
   * flight or recent, otherwise the one already running (in this process or, for a shared lock,
   * in another, its result read back through `codec`).
   */
  run<T>(key: string, refresh: () => Promise<T>, codec?: RefreshCodec<T>): Promise<T>;
}

/** Options of {@link createInProcessRefreshLock}. */
export interface InProcessRefreshLockOptions {
  /**
   * How long a successful result stays available to callers that still hold the old token. Keys
   * are bound to one sign-in (see docs/configuration.md#refreshlock), so this only serves the
   * same session's concurrent requests and a stale copy of that session written back by a
   * request that loaded it before the refresh. Keep it short: within it, the successor is shared
   * without the provider seeing the old token again.
   * @default 60000 (one minute)
   */
  readonly graceMs?: number;
  /**
   * How long a failed refresh's outcome is shared with the callers that come next, instead of
   * each sending its own request to a provider that is failing already (no retry storm). A
   * failure whose outcome is unknown (code `provider_timeout`: the provider may have rotated the
   * token before the answer was lost) is kept for `graceMs` instead, so the possibly spent refresh
   * token is not sent again at once.
   * @default 5000
   */
  readonly failureMs?: number;
  /** Most results kept; the oldest go first. @default 10000 */
  readonly maxEntries?: number;
  /** Milliseconds clock. @default Date.now */
  readonly clock?: () => number;
}

interface Entry {
  readonly promise: Promise<unknown>;
  settledAt: number | undefined;
  failed: boolean;
  unknown: boolean;
}

/**
 * The default {@link RefreshLock}: a map of in-flight promises in this process. A refresh runs
 * to its own end whatever its callers' deadlines; its outcome stays for the callers that come
 * next (`graceMs` for a success, `failureMs` for a failure).
 *
 * @example
 * fletAuth({ providers, secret, refreshLock: createInProcessRefreshLock({ graceMs: 30_000 }) });
 */
export function createInProcessRefreshLock(options: InProcessRefreshLockOptions = {}): RefreshLock {
  const graceMs = options.graceMs ?? 60_000;
  const failureMs = options.failureMs ?? 5_000;
  const maxEntries = options.maxEntries ?? 10_000;
  const clock = options.clock ?? Date.now;
  const entries = new Map<string, Entry>();
  const expired = (entry: Entry, now: number): boolean =>
    entry.settledAt !== undefined && now - entry.settledAt >= (entry.failed && !entry.unknown ? failureMs : graceMs);

  // Map order is insertion order: the oldest entries come first, so sweeping stops early.
  const sweep = (now: number): void => {
    for (const [key, entry] of entries) {
      if (!expired(entry, now) && entries.size < maxEntries) break;
      // An in-flight refresh is never dropped: a second one would present the same refresh token.
      if (entry.settledAt !== undefined) entries.delete(key);
    }
  };

  return {
    run<T>(key: string, refresh: () => Promise<T>): Promise<T> {
      const now = clock();
      sweep(now);
      const existing = entries.get(key);
      if (existing && !expired(existing, now)) return existing.promise as Promise<T>;
      entries.delete(key);
      const entry: Entry = { promise: Promise.resolve(), settledAt: undefined, failed: false, unknown: false };
      const promise = (async () => refresh())().then(
        (value) => {
          entry.settledAt = clock();
          return value;
        },
        (err: unknown) => {
          entry.settledAt = clock();
          entry.failed = true;
          entry.unknown = (err as { code?: unknown } | null)?.code === "provider_timeout";
          throw err;
        },
      );
      // Kept even when nobody awaits it any more (every caller's deadline passed).
      promise.catch(() => undefined);
      entries.set(key, Object.assign(entry, { promise }));
      return promise;
    },
  };
}
