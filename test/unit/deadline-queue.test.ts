/**
 * lib/util/deadline-queue.ts: many deadlines of one length on one timer. Time is a number the test
 * moves, and the timer is vitest's fake setTimeout driven by the same number, so "fired",
 * "not yet" and "timer gone" are facts.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { EXPIRED, createDeadlineQueue, type DeadlineQueue } from "../../lib/util/deadline-queue.js";

const MS = 100;

describe("createDeadlineQueue", () => {
  let queue: DeadlineQueue;
  let fired: string[];
  const on = (name: string) => (reason: typeof EXPIRED) => {
    expect(reason).toBe(EXPIRED);
    fired.push(name);
  };

  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    queue = createDeadlineQueue(MS, () => Date.now());
    fired = [];
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("fires each deadline once, at its own time, in the order they were set", () => {
    queue.add(on("a"));
    vi.advanceTimersByTime(30);
    queue.add(on("b"));
    queue.add(on("c"));
    expect(queue.pending).toBe(3);
    expect(vi.getTimerCount(), "one timer for all").toBe(1);
    vi.advanceTimersByTime(MS - 31);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(fired).toEqual(["a"]);
    vi.advanceTimersByTime(29);
    expect(fired).toEqual(["a"]);
    vi.advanceTimersByTime(1);
    expect(fired).toEqual(["a", "b", "c"]);
    expect(queue.pending).toBe(0);
    expect(vi.getTimerCount(), "no timer once nothing is pending").toBe(0);
    vi.advanceTimersByTime(10 * MS);
    expect(fired, "nothing fires twice").toEqual(["a", "b", "c"]);
  });

  it("a cancelled deadline never fires; cancelling twice, or after it fired, or an unknown ticket, changes nothing", () => {
    const a = queue.add(on("a"));
    const b = queue.add(on("b"));
    queue.cancel(a);
    queue.cancel(a);
    queue.cancel(12345);
    queue.cancel(-1);
    expect(queue.pending).toBe(1);
    vi.advanceTimersByTime(MS);
    expect(fired).toEqual(["b"]);
    queue.cancel(b);
    expect(queue.pending).toBe(0);
  });

  it("with nothing pending the timer holds no process open and fires once for nothing; the next deadline holds it again", () => {
    // The timers it arms, seen through its `schedule` (no global spy: other suites share the globals).
    const armed: NodeJS.Timeout[] = [];
    queue = createDeadlineQueue(MS, () => Date.now(), (run, delay) => {
      const timer = setTimeout(run, delay);
      armed.push(timer);
      return timer;
    });
    const a = queue.add(on("a"));
    const timer = armed[0] as NodeJS.Timeout;
    expect(timer.hasRef(), "a pending deadline keeps the process alive").toBe(true);
    queue.cancel(a);
    expect(timer.hasRef(), "nothing pending: unreferenced").toBe(false);
    expect(vi.getTimerCount(), "kept, not cleared: the next burst reuses it").toBe(1);
    vi.advanceTimersByTime(MS / 2);
    const b = queue.add(on("b"));
    expect(b, "tickets stay unique after the queue empties").not.toBe(a);
    expect(timer.hasRef(), "b pending: referenced again").toBe(true);
    expect(armed, "no second timer").toHaveLength(1);
    vi.advanceTimersByTime(MS / 2);
    expect(fired, "the timer fired for a, which was cancelled").toEqual([]);
    vi.advanceTimersByTime(MS / 2 - 1);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(fired).toEqual(["b"]);
    expect(vi.getTimerCount()).toBe(0);
    const c = queue.add(on("c"));
    queue.cancel(c);
    vi.advanceTimersByTime(MS);
    expect(fired, "a cancelled deadline's timer fires for nothing").toEqual(["b"]);
    expect(vi.getTimerCount(), "and is gone").toBe(0);
  });

  it("with the oldest cancelled, the timer waits for the next live deadline, not a whole period more", () => {
    const a = queue.add(on("a"));
    vi.advanceTimersByTime(40);
    queue.add(on("b"));
    queue.cancel(a);
    vi.advanceTimersByTime(MS - 40);
    expect(fired, "a was cancelled; b is due 40 ms later").toEqual([]);
    vi.advanceTimersByTime(39);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(fired).toEqual(["b"]);
  });

  it("a callback that adds a deadline gets one a full period long, and one that cancels another stops it", () => {
    let late = -1;
    queue.add(() => {
      fired.push("a");
      queue.add(on("from-a"));
      queue.cancel(late);
    });
    vi.advanceTimersByTime(10);
    late = queue.add(on("cancelled-by-a"));
    queue.add(on("c"));
    vi.advanceTimersByTime(MS - 10);
    expect(fired).toEqual(["a"]);
    vi.advanceTimersByTime(10);
    expect(fired).toEqual(["a", "c"]);
    vi.advanceTimersByTime(MS - 11);
    expect(fired).toEqual(["a", "c"]);
    vi.advanceTimersByTime(1);
    expect(fired).toEqual(["a", "c", "from-a"]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("a callback that throws does not strand the deadlines after it", () => {
    queue.add(() => {
      throw new Error("listener failed");
    });
    vi.advanceTimersByTime(1);
    queue.add(on("b"));
    expect(() => vi.advanceTimersByTime(MS - 1)).toThrow("listener failed");
    expect(queue.pending).toBe(1);
    vi.advanceTimersByTime(1);
    expect(fired).toEqual(["b"]);
  });

  it("tens of thousands of deadlines, most cancelled in any order: the right ones fire, each once", () => {
    const tickets: number[] = [];
    const expected: string[] = [];
    for (let i = 0; i < 30_000; i++) {
      tickets.push(queue.add(on(String(i))));
      if (i % 1000 === 999) vi.advanceTimersByTime(1);
    }
    // Cancel all but every 997th, from the back and the front alternately.
    for (let i = 0; i < tickets.length; i++) {
      const j = i % 2 === 0 ? i : tickets.length - i;
      if (j % 997 !== 0) queue.cancel(tickets[j] as number);
    }
    for (let i = 0; i < 30_000; i += 997) expected.push(String(i));
    expect(queue.pending).toBe(expected.length);
    vi.advanceTimersByTime(MS + 30);
    expect(fired).toEqual(expected);
    expect(queue.pending).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    // Still usable after the arrays were compacted.
    const next = queue.add(on("next"));
    expect(next).toBeGreaterThan(tickets[tickets.length - 1] as number);
    vi.advanceTimersByTime(MS);
    expect(fired.at(-1)).toBe("next");
  });

  it("a long-running queue that is never empty still drops what has settled", () => {
    // One deadline always pending while others come and go, as under steady traffic.
    let previous = queue.add(on("first"));
    let most = 0;
    for (let round = 0; round < 200; round++) {
      for (let i = 0; i < 100; i++) queue.cancel(queue.add(on("never")));
      vi.advanceTimersByTime(MS / 2);
      const ticket = queue.add(on(`r${round}`));
      queue.cancel(previous);
      previous = ticket;
      most = Math.max(most, queue.held);
    }
    expect(queue.pending).toBe(1);
    expect(most, "20,000 deadlines came and went; the queue kept about a thousand at most").toBeLessThan(1_500);
    expect(fired, "every deadline was cancelled within half a period").toEqual([]);
    vi.advanceTimersByTime(MS);
    expect(fired).toEqual(["r199"]);
  });

  it("the timer firing is enough: deadlines due by then expire even if the clock has not moved (a faked timer, a timer fired early)", () => {
    let clock = 1_000;
    const frozen = createDeadlineQueue(MS, () => clock);
    frozen.add(on("a"));
    clock += 40;
    frozen.add(on("b"));
    vi.advanceTimersByTime(MS);
    expect(fired, "a's timer fired; the clock still says 40 ms").toEqual(["a"]);
    clock += 10;
    vi.advanceTimersByTime(MS);
    expect(fired, "b is re-armed from the clock, and fires with its timer").toEqual(["a", "b"]);
    expect(frozen.pending).toBe(0);
  });

  it("a settled or future ticket whose ring slot a live deadline now holds cancels nothing", () => {
    // 64 slots at first: ticket t and t + 64 share a slot once the ring has wrapped.
    const old: number[] = [];
    for (let i = 0; i < 64; i++) old.push(queue.add(on(`old-${i}`)));
    vi.advanceTimersByTime(MS);
    expect(fired).toHaveLength(64);
    const live = queue.add(on("live"));
    expect(live % 64, "the live deadline reuses the first settled one's slot").toBe((old[0] as number) % 64);
    queue.cancel(old[0] as number);
    queue.cancel(live + 64);
    expect(queue.pending, "neither the settled nor the future ticket touched it").toBe(1);
    vi.advanceTimersByTime(MS);
    expect(fired.at(-1)).toBe("live");
  });

  it("with the ring exactly full, the next ticket (not issued yet) cancels nothing, though its slot is the oldest's", () => {
    const tickets: number[] = [];
    for (let i = 0; i < 64; i++) tickets.push(queue.add(on(`t-${i}`)));
    const next = (tickets.at(-1) as number) + 1;
    expect(next % 64).toBe((tickets[0] as number) % 64);
    queue.cancel(next);
    expect(queue.pending).toBe(64);
    vi.advanceTimersByTime(MS);
    expect(fired).toHaveLength(64);
    expect(fired[0]).toBe("t-0");
  });

  it("after a deadline fires, the timer is armed for the next live one, passing over cancelled ones between", () => {
    const delays: number[] = [];
    queue = createDeadlineQueue(MS, () => Date.now(), (run, delay) => {
      delays.push(delay);
      return setTimeout(run, delay);
    });
    queue.add(on("a"));
    vi.advanceTimersByTime(10);
    const b = queue.add(on("b"));
    vi.advanceTimersByTime(10);
    queue.add(on("c"));
    queue.cancel(b);
    vi.advanceTimersByTime(MS - 20);
    expect(fired).toEqual(["a"]);
    expect(delays, "a's timer, then one straight to c's deadline (20 ms on), none for b's").toEqual([MS, 20]);
    expect(queue.held, "only c is held").toBe(1);
    vi.advanceTimersByTime(20);
    expect(fired).toEqual(["a", "c"]);
  });

  it("once every deadline is cancelled, the queue holds none of them", () => {
    const tickets = [queue.add(on("a")), queue.add(on("b")), queue.add(on("c"))];
    queue.cancel(tickets[1] as number);
    expect(queue.held, "a cancelled deadline between live ones waits to be passed over").toBe(3);
    queue.cancel(tickets[0] as number);
    queue.cancel(tickets[2] as number);
    expect(queue.pending).toBe(0);
    expect(queue.held, "nothing pending: nothing held").toBe(0);
  });

  it("the ring's size follows the deadlines held at once, not all ever set", () => {
    for (let i = 0; i < 10_000; i++) queue.cancel(queue.add(on("short-lived")));
    expect(queue.capacity, "one at a time, for ever: the first 64 slots").toBe(64);
    const full = Array.from({ length: 64 }, () => queue.add(on("full")));
    expect(queue.capacity, "64 at once fill the ring exactly").toBe(64);
    for (const t of full) queue.cancel(t);
    const burst = Array.from({ length: 100 }, () => queue.add(on("burst")));
    expect(queue.capacity, "100 at once: doubled once").toBe(128);
    for (const t of burst) queue.cancel(t);
    for (let i = 0; i < 10_000; i++) queue.cancel(queue.add(on("short-lived")));
    expect(queue.capacity).toBe(128);
    expect(fired).toEqual([]);
  });
});
