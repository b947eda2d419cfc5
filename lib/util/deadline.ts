/**
 * `promise`, or a rejection with `onTimeout()` once `ms` have passed, whichever comes first. The
 * underlying work is not cancelled (a caller's deadline must not cut a refresh short: its result
 * is still stored for the callers that come next); the timer is cleared either way.
 */
export function withDeadline<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  if (!Number.isFinite(ms)) return promise;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), Math.max(0, ms));
    timer.unref?.();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
