/**
 * Deadlines of one fixed length for many operations at once, on one timer.
 *
 * Every request that reads its session from a store gets a deadline (session.ts `loadSession`).
 * A `setTimeout` per request is a Timeout object, a closure, and an insert and a removal in
 * Node's timer list. On a signed-in request that is a measurable share of what flet-auth adds
 * (docs/performance.md). Deadlines of one length expire in the order they were set, so a FIFO
 * with one timer armed for its oldest pending entry serves them all. When nothing is pending the
 * timer no longer holds the process open, and once it has fired none is left.
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
  /** How many entries the queue holds: the pending ones, and settled ones not yet passed over (at most a period's worth). */
  readonly held: number;
  /** How many entries the ring has room for before it doubles: bounded by the deadlines held at once, not by all ever set. */
  readonly capacity: number;
}

/** What an expired deadline's callback receives. */
export const EXPIRED: unique symbol = Symbol("flet-auth.deadlineExpired");

/** The ring's first size; it doubles when full, and holds at most the deadlines set within one period. */
const FIRST_CAPACITY = 64;

/**
 * A {@link DeadlineQueue} whose deadlines are `ms` long, measured on `now` (a monotonic clock in
 * milliseconds: a wall clock set back would hold every pending deadline), on timers from
 * `schedule` (setTimeout, looked up when called: tests fake it).
 */
export function createDeadlineQueue(
  ms: number,
  now: () => number = () => performance.now(),
  schedule: (run: () => void, delay: number) => NodeJS.Timeout = (run, delay) => setTimeout(run, delay),
): DeadlineQueue {
  // A ring of two parallel arrays rather than an entry object per deadline: in steady traffic
  // `add` allocates nothing. Ticket t lives in slot `t & mask`; tickets in [head, tail) are held,
  // those before `head` settled. Settled entries are passed over when the timer fires, so the
  // ring holds at most the deadlines set within one period (plus any still pending).
  let due = new Float64Array(FIRST_CAPACITY);
  let calls = new Array<((reason: typeof EXPIRED) => void) | undefined>(FIRST_CAPACITY).fill(undefined);
  let mask = FIRST_CAPACITY - 1;
  let head = 0;
  let tail = 0;
  let pending = 0;
  let timer: NodeJS.Timeout | undefined;
  // When the armed timer is due: once it fires, everything due by then has expired, whatever
  // `now` says (Node may fire a timer a fraction early on this clock; a test may fake the timer
  // but not the clock).
  let armedFor = 0;
  // While expired callbacks run: they may add or cancel, and `expire` arms the timer after them.
  let expiring = false;

  const grow = (): void => {
    const size = (mask + 1) * 2;
    const nextDue = new Float64Array(size);
    const nextCalls = new Array<((reason: typeof EXPIRED) => void) | undefined>(size).fill(undefined);
    for (let t = head; t < tail; t++) {
      nextDue[t & (size - 1)] = due[t & mask] as number;
      nextCalls[t & (size - 1)] = calls[t & mask];
    }
    due = nextDue;
    calls = nextCalls;
    mask = size - 1;
  };

  const arm = (at: number, delay: number): void => {
    armedFor = at;
    timer = schedule(expire, Math.max(0, delay));
  };

  const expire = (): void => {
    timer = undefined;
    expiring = true;
    try {
      while (head < tail) {
        const slot = head & mask;
        const call = calls[slot];
        if (call !== undefined && (due[slot] as number) > Math.max(now(), armedFor)) break;
        calls[slot] = undefined;
        head += 1;
        if (call === undefined) continue;
        pending -= 1;
        call(EXPIRED);
      }
    } finally {
      expiring = false;
      if (pending === 0) settleAll();
      else arm(due[head & mask] as number, (due[head & mask] as number) - now());
    }
  };

  /** Nothing is pending: every held entry is settled (cancelled slots are already empty). */
  const settleAll = (): void => {
    head = tail;
  };

  return {
    add(onTimeout) {
      if (tail - head > mask) grow();
      const slot = tail & mask;
      const at = now() + ms;
      due[slot] = at;
      calls[slot] = onTimeout;
      tail += 1;
      pending += 1;
      if (timer === undefined) {
        if (!expiring) arm(at, ms);
      } else if (pending === 1) {
        timer.ref();
      }
      return tail - 1;
    },
    cancel(ticket) {
      if (ticket < head || ticket >= tail) return;
      const slot = ticket & mask;
      if (calls[slot] === undefined) return;
      calls[slot] = undefined;
      pending -= 1;
      if (pending > 0 || expiring) return;
      // Nothing left to wait for. The timer stays (unreferenced: it holds no process open) and
      // fires once for nothing: under load the queue empties between bursts of requests, and a
      // new timer each time would cost what one per request did.
      timer?.unref();
      settleAll();
    },
    get pending() {
      return pending;
    },
    get held() {
      return tail - head;
    },
    get capacity() {
      return mask + 1;
    },
  };
}
