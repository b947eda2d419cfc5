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
  run<T>(key: string, refresh: () => Promise<T>, codec?: RefreshCodec<T>): Promise<T>;
}

/** Options of {@link createInProcessRefreshLock}. */
export interface InProcessRefreshLockOptions {
  /**
   * How long a successful result stays available to callers that still hold the old refresh
   * token. express-session saves whole sessions, so a request that loaded the session before a
   * refresh was saved and writes it afterwards puts the old refresh token back; with rotation the
   * provider would refuse it at the next refresh, signing the user out. Within this window the
   * old token resolves to its successor instead, and the session is repaired. The trade-off: in
   * this process, a copy of an old refresh token obtains its successor during the window.
   * @default 3600000 (one hour, a typical access-token lifetime)
   */
  readonly graceMs?: number;
  /** Most results kept; the oldest go first. @default 10000 */
  readonly maxEntries?: number;
  /** Milliseconds clock. @default Date.now */
  readonly clock?: () => number;
}

interface Entry {
  readonly promise: Promise<unknown>;
  settledAt: number | undefined;
}

/** The default {@link RefreshLock}: a map of in-flight promises in this process. */
export function createInProcessRefreshLock(options: InProcessRefreshLockOptions = {}): RefreshLock {
  const graceMs = options.graceMs ?? 3_600_000;
  const maxEntries = options.maxEntries ?? 10_000;
  const clock = options.clock ?? Date.now;
  const entries = new Map<string, Entry>();

  // Map order is insertion order: the oldest entries come first, so sweeping stops early.
  const sweep = (now: number): void => {
    for (const [key, entry] of entries) {
      const expired = entry.settledAt !== undefined && now - entry.settledAt >= graceMs;
      if (!expired && entries.size < maxEntries) break;
      if (entry.settledAt !== undefined) entries.delete(key);
    }
  };

  return {
    run<T>(key: string, refresh: () => Promise<T>): Promise<T> {
      const now = clock();
      sweep(now);
      const existing = entries.get(key);
      if (existing) return existing.promise as Promise<T>;
      const entry: Entry = { promise: Promise.resolve(), settledAt: undefined };
      const promise = (async () => refresh())().then(
        (value) => {
          entry.settledAt = clock();
          return value;
        },
        (err: unknown) => {
          // Failures are not kept: the next caller may retry (e.g. after a network blip).
          entries.delete(key);
          throw err;
        },
      );
      entries.set(key, Object.assign(entry, { promise }));
      return promise;
    },
  };
}
