import { describe, expect, it } from "vitest";
import { createInProcessRefreshLock } from "../../lib/index.js";
import { deferred } from "../helpers/deferred.js";


type Deferred<T> = ReturnType<typeof deferred<T>>;

/** A refresh function that counts its calls; each call's outcome is settled by the test via `pending[i]`. */
function controlledRefresh<T>(): { fn: () => Promise<T>; calls: () => number; pending: Deferred<T>[] } {
  const pending: Deferred<T>[] = [];
  return {
    fn: () => {
      const d = deferred<T>();
      pending.push(d);
      return d.promise;
    },
    calls: () => pending.length,
    pending,
  };
}

describe("createInProcessRefreshLock", () => {
  describe("single flight", () => {
    it("runs fn once for concurrent callers of one key and gives them all its value", async () => {
      const lock = createInProcessRefreshLock();
      const refresh = controlledRefresh<{ token: string }>();
      const callers = Array.from({ length: 50 }, () => lock.run("demo:abc", refresh.fn));
      expect(refresh.calls()).toBe(1);
      const value = { token: "new" };
      refresh.pending[0]?.resolve(value);
      const results = await Promise.all(callers);
      expect(refresh.calls()).toBe(1);
      for (const r of results) expect(r).toBe(value);
    });

    it("runs different keys separately", async () => {
      const lock = createInProcessRefreshLock();
      const refresh = controlledRefresh<string>();
      const a = lock.run("demo:a", refresh.fn);
      const b = lock.run("demo:b", refresh.fn);
      const other = lock.run("other:a", refresh.fn);
      expect(refresh.calls()).toBe(3);
      refresh.pending[0]?.resolve("A");
      refresh.pending[1]?.resolve("B");
      refresh.pending[2]?.resolve("O");
      await expect(Promise.all([a, b, other])).resolves.toEqual(["A", "B", "O"]);
    });

    it("a synchronous throw in fn becomes a rejection, not an exception out of run()", async () => {
      const lock = createInProcessRefreshLock();
      let result: Promise<unknown> | undefined;
      expect(() => {
        result = lock.run("k", () => {
          throw new Error("sync boom");
        });
      }).not.toThrow();
      await expect(result).rejects.toThrow("sync boom");
    });
  });

  describe("failures", () => {
    it("shares a rejection with every concurrent caller", async () => {
      const lock = createInProcessRefreshLock();
      const refresh = controlledRefresh<string>();
      const callers = Array.from({ length: 10 }, () => lock.run("k", refresh.fn));
      const boom = new Error("provider down");
      refresh.pending[0]?.reject(boom);
      const outcomes = await Promise.allSettled(callers);
      expect(refresh.calls()).toBe(1);
      for (const o of outcomes) expect(o).toEqual({ status: "rejected", reason: boom });
    });

    it("shares a rejection for failureMs (default 5 s), then runs fn again: no retry storm against a failing provider", async () => {
      let now = 1_000_000;
      const lock = createInProcessRefreshLock({ clock: () => now });
      const refresh = controlledRefresh<string>();
      const first = lock.run("k", refresh.fn);
      refresh.pending[0]?.reject(new Error("blip"));
      await expect(first).rejects.toThrow("blip");
      now += 4_999;
      await expect(lock.run("k", refresh.fn)).rejects.toThrow("blip");
      expect(refresh.calls()).toBe(1);
      now += 1; // 5 000 ms after the failure
      const second = lock.run("k", refresh.fn);
      expect(refresh.calls()).toBe(2);
      refresh.pending[1]?.resolve("ok");
      await expect(second).resolves.toBe("ok");
    });

    it("keeps a failure with an unknown outcome (provider_timeout) for graceMs, not failureMs: the possibly spent token is not sent again at once", async () => {
      let now = 0;
      const lock = createInProcessRefreshLock({ clock: () => now, failureMs: 100, graceMs: 10_000 });
      const refresh = controlledRefresh<string>();
      const first = lock.run("k", refresh.fn);
      refresh.pending[0]?.reject(Object.assign(new Error("lost"), { code: "provider_timeout" }));
      await expect(first).rejects.toThrow("lost");
      now = 9_999;
      await expect(lock.run("k", refresh.fn)).rejects.toThrow("lost");
      expect(refresh.calls()).toBe(1);
      now = 10_000;
      void lock.run("k", refresh.fn);
      expect(refresh.calls()).toBe(2);
    });

    it("honours failureMs, measured from the failure", async () => {
      let now = 0;
      const lock = createInProcessRefreshLock({ clock: () => now, failureMs: 100 });
      const refresh = controlledRefresh<string>();
      const first = lock.run("k", refresh.fn);
      now = 1_000;
      refresh.pending[0]?.reject(new Error("down"));
      await expect(first).rejects.toThrow("down");
      now = 1_099;
      await expect(lock.run("k", refresh.fn)).rejects.toThrow("down");
      now = 1_100;
      void lock.run("k", refresh.fn);
      expect(refresh.calls()).toBe(2);
    });

    it("a refresh nobody waits for any more still completes and serves the next caller", async () => {
      const lock = createInProcessRefreshLock({ clock: () => 0 });
      const refresh = controlledRefresh<string>();
      // The first caller gives up (its deadline passed): the refresh itself goes on.
      void lock.run("k", refresh.fn).catch(() => undefined);
      refresh.pending[0]?.resolve("late");
      await expect(lock.run("k", refresh.fn)).resolves.toBe("late");
      expect(refresh.calls()).toBe(1);
    });
  });

  describe("grace period", () => {
    it("defaults to one minute: a late caller within it gets the cached value, after it fn runs again", async () => {
      let now = 5_000_000;
      const lock = createInProcessRefreshLock({ clock: () => now });
      let calls = 0;
      const fn = async (): Promise<string> => `v${++calls}`;
      await expect(lock.run("k", fn)).resolves.toBe("v1");
      now += 59_999;
      await expect(lock.run("k", fn)).resolves.toBe("v1");
      expect(calls).toBe(1);
      now += 1; // 60 000 ms after success
      await expect(lock.run("k", fn)).resolves.toBe("v2");
      expect(calls).toBe(2);
    });

    it("honours graceMs and measures it from when the refresh finished, not when it started", async () => {
      let now = 0;
      const lock = createInProcessRefreshLock({ clock: () => now, graceMs: 1_000 });
      const refresh = controlledRefresh<string>();
      const first = lock.run("k", refresh.fn);
      now = 5_000; // the refresh took 5 s
      refresh.pending[0]?.resolve("v1");
      await expect(first).resolves.toBe("v1");
      now = 5_999;
      await expect(lock.run("k", refresh.fn)).resolves.toBe("v1");
      expect(refresh.calls()).toBe(1);
      now = 6_000;
      const third = lock.run("k", refresh.fn);
      expect(refresh.calls()).toBe(2);
      refresh.pending[1]?.resolve("v2");
      await expect(third).resolves.toBe("v2");
    });

    it("keeps the grace of one key independent of another", async () => {
      let now = 0;
      const lock = createInProcessRefreshLock({ clock: () => now, graceMs: 1_000 });
      let calls = 0;
      const fn = async (): Promise<number> => ++calls;
      await lock.run("a", fn);
      now = 500;
      await expect(lock.run("b", fn)).resolves.toBe(2);
      now = 1_200; // a expired, b still cached
      await expect(lock.run("b", fn)).resolves.toBe(2);
      await expect(lock.run("a", fn)).resolves.toBe(3);
      expect(calls).toBe(3);
    });

    it("keeps at most maxEntries results, dropping the oldest first", async () => {
      const lock = createInProcessRefreshLock({ clock: () => 7, maxEntries: 2 });
      let calls = 0;
      const fn = async (): Promise<number> => ++calls;
      await lock.run("a", fn);
      await lock.run("b", fn);
      await lock.run("c", fn); // evicts "a"
      expect(calls).toBe(3);
      await expect(lock.run("c", fn)).resolves.toBe(3);
      await expect(lock.run("a", fn)).resolves.toBe(4);
    });

    it("with graceMs 0 nothing is cached after success", async () => {
      const lock = createInProcessRefreshLock({ clock: () => 42, graceMs: 0 });
      let calls = 0;
      const fn = async (): Promise<number> => ++calls;
      await lock.run("k", fn);
      await lock.run("k", fn);
      expect(calls).toBe(2);
    });
  });
});
