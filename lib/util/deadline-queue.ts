/**
 * Deadlines of one fixed length for many operations at once, on one timer.
 *
 * Every request that reads its session from a store gets a deadline (session.ts `loadSession`).
 * A `setTimeout` per request is a Timeout object, a closure, and an insert and a removal in
 * Node's timer list. On a signed-in request that is a measurable share of what flet-auth adds
 * (docs/performance.md). Deadlines of one length expire in the order they were set, so a FIFO
 * with one timer armed for its oldest pending entry serves them all. The timer is cleared when
 * nothing is pending, so an idle process keeps no timer.
 */
export interface DeadlineQueue {
  /**
   * Calls `onTimeout(EXPIRED)` once the queue's `ms` have passed, unless cancelled first; returns
   * the ticket to cancel it with. (The argument lets a caller pass the callback it already has,
   * e.g. a `next`-style one, rather than a closure per deadline.)
   */
  add(onTimeout: (reason: typeof EXPIRED) => void): number;
  /** Cancels the deadline of `ticket`: a no-op once it fired or was cancelled. */
  cancel(ticket: number): void;
  /** How many deadlines are pending. */
  readonly pending: number;
  /** How many entries the queue holds: the pending ones and settled ones not yet dropped (bounded). */
  readonly held: number;
}

/** What an expired deadline's callback receives. */
export const EXPIRED: unique symbol = Symbol("flet-auth.deadlineExpired");

/** Compacting is a copy: only once the dead front of the queue is long and most of it. */
const COMPACT_AFTER = 1024;

/**
 * A {@link DeadlineQueue} whose deadlines are `ms` long, measured on `now` (a monotonic clock in
 * milliseconds: a wall clock set back would hold every pending deadline).
 */
export function createDeadlineQueue(ms: number, now: () => number = () => performance.now()): DeadlineQueue {
  // Two parallel arrays rather than an entry object per deadline: `add` allocates nothing but
  // array growth. Entry i has ticket `base + i`; entries before `head` are settled.
  const due: number[] = [];
  const calls: Array<((reason: typeof EXPIRED) => void) | undefined> = [];
  let base = 0;
  let head = 0;
  let pending = 0;
  let timer: NodeJS.Timeout | undefined;
  // While expired callbacks run: they may add or cancel, and `expire` arms the timer after them.
  let expiring = false;

  /** Forgets the settled entries before `head`. */
  const dropSettled = (): void => {
    due.splice(0, head);
    calls.splice(0, head);
    base += head;
    head = 0;
  };

  const expire = (): void => {
    timer = undefined;
    expiring = true;
    try {
      while (head < due.length) {
        const call = calls[head];
        if (call !== undefined && (due[head] as number) > now()) break;
        calls[head] = undefined;
        head += 1;
        if (call === undefined) continue;
        pending -= 1;
        call(EXPIRED);
      }
    } finally {
      expiring = false;
      if (pending === 0) head = due.length;
      if (head === due.length || (head > COMPACT_AFTER && head * 2 > due.length)) dropSettled();
      if (pending > 0) timer = setTimeout(expire, Math.max(0, (due[head] as number) - now()));
    }
  };

  return {
    add(onTimeout) {
      due.push(now() + ms);
      calls.push(onTimeout);
      pending += 1;
      if (timer === undefined && !expiring) timer = setTimeout(expire, ms);
      return base + due.length - 1;
    },
    cancel(ticket) {
      const i = ticket - base;
      if (i < head || i >= due.length || calls[i] === undefined) return;
      calls[i] = undefined;
      pending -= 1;
      if (pending > 0 || expiring) return;
      // Nothing left to wait for: no timer kept, and every entry is settled.
      clearTimeout(timer);
      timer = undefined;
      head = due.length;
      dropSettled();
    },
    get pending() {
      return pending;
    },
    get held() {
      return due.length;
    },
  };
}
