/**
 * createInProcessRefreshLock at its edges: a success is kept for graceMs (not failureMs), the
 * capacity sweep makes room before a lookup once maxEntries results are held, and an in-flight
 * refresh is never swept (a second one would present the same refresh token).
 */
import { describe, expect, it, vi } from "vitest";
import { createInProcessRefreshLock } from "../../../lib/index.js";
import { deferred } from "../../helpers/deferred.js";

describe("in-process refresh lock: edges", () => {
  it("a success is shared for graceMs, not only for the (shorter) failureMs", async () => {
    let now = 0;
    const lock = createInProcessRefreshLock({ clock: () => now, graceMs: 60_000, failureMs: 5_000 });
    const refresh = vi.fn(async () => "v1");
    await lock.run("k", refresh);
    now = 10_000; // past failureMs, within graceMs
    await expect(lock.run("k", async () => "v2")).resolves.toBe("v1");
    expect(refresh).toHaveBeenCalledTimes(1);
  });

  it("at maxEntries, the oldest settled result is dropped before a lookup; the newer ones stay", async () => {
    const lock = createInProcessRefreshLock({ clock: () => 7, maxEntries: 2 });
    await lock.run("k1", async () => "one");
    await lock.run("k2", async () => "two");
    await lock.run("k3", async () => "three"); // k1 dropped to make room: {k2, k3}
    // Full again: this call drops k2 (the oldest) before it looks; k3 was kept and is shared.
    const k3 = vi.fn(async () => "three again");
    await expect(lock.run("k3", k3)).resolves.toBe("three");
    expect(k3).not.toHaveBeenCalled();
    // So k2 runs again.
    const again = vi.fn(async () => "two again");
    await expect(lock.run("k2", again)).resolves.toBe("two again");
    expect(again).toHaveBeenCalledTimes(1);
  });

  it("an in-flight refresh is never swept to make room: its key stays shared", async () => {
    const lock = createInProcessRefreshLock({ clock: () => 7, maxEntries: 1 });
    const gate = deferred<string>();
    const first = vi.fn(() => gate.promise);
    const inFlight = lock.run("k1", first);
    // Another key arrives while k1 is in flight, and settles.
    await expect(lock.run("k2", async () => "two")).resolves.toBe("two");
    // k1 is still in flight: its callers share it.
    const second = vi.fn(async () => "would present the same refresh token");
    const joined = lock.run("k1", second);
    expect(second).not.toHaveBeenCalled();
    gate.resolve("one");
    await expect(inFlight).resolves.toBe("one");
    await expect(joined).resolves.toBe("one");
    expect(first).toHaveBeenCalledTimes(1);
  });
});
