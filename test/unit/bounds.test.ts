/**
 * Bounds (issue 9): the per-process structures anonymous requests can grow — claimed callback
 * states and complete-page templates — stay below their caps whatever the traffic, drop expired
 * entries from the front, and visit each entry once (amortised O(1) iterator steps per insert).
 * The steps are counted, not timed: every step of a Map iteration goes through
 * %MapIteratorPrototype%.next, which the test counts around each (synchronous) insert. Time is
 * the `nowMs` the callers pass in. What a step costs is the engine's business and is measured in
 * bench/bounds.ts (V8 skips deleted slots at the front of a Map inside one `next()`).
 */
import { afterEach, describe, expect, it } from "vitest";
import { createClaimedStates } from "../../lib/flow/claimed-states.js";
import { createPageRegistry, type PageFunction } from "../../lib/pages/registry.js";

const T0 = 1_800_000_000_000;
const TTL = 600_000;

/** Counts Map iterator steps while installed (the structures sweep with `for … of` over a Map). */
function countMapSteps(): { steps(): number; reset(): void; restore(): void } {
  const proto = Object.getPrototypeOf(new Map<never, never>()[Symbol.iterator]()) as { next: (this: unknown) => IteratorResult<unknown> };
  const original = proto.next;
  let steps = 0;
  proto.next = function next(this: unknown) {
    steps += 1;
    return original.call(this);
  };
  return {
    steps: () => steps,
    reset: () => void (steps = 0),
    restore: () => void (proto.next = original),
  };
}

let counter: ReturnType<typeof countMapSteps> | undefined;
afterEach(() => {
  counter?.restore();
  counter = undefined;
});

const template: PageFunction = () => "<p>done</p>";

describe("createClaimedStates", () => {
  it("a claimed state is refused until its expiry, then may be claimed again", () => {
    const claims = createClaimedStates();
    expect(claims.claim("s1", T0 + TTL, T0)).toBe(true);
    expect(claims.claim("s1", T0 + TTL, T0)).toBe(false);
    expect(claims.claim("s1", T0 + TTL, T0 + TTL - 1)).toBe(false);
    expect(claims.claim("s2", T0 + TTL, T0 + 1)).toBe(true);
    expect(claims.claim("s1", T0 + 2 * TTL, T0 + TTL)).toBe(true);
    expect(claims.claim("s1", T0 + 2 * TTL, T0 + TTL + 1)).toBe(false);
  });

  it("stays at or below its cap under 100k claims that never expire, the oldest leaving first", () => {
    const cap = 1000;
    const claims = createClaimedStates(cap);
    let largest = 0;
    for (let i = 0; i < 100_000; i++) {
      expect(claims.claim(`state-${i}`, T0 + TTL, T0)).toBe(true);
      largest = Math.max(largest, claims.size);
    }
    expect(largest).toBe(cap);
    expect(claims.size).toBe(cap);
    // The newest are still refused; the oldest were dropped to make room.
    expect(claims.claim("state-99999", T0 + TTL, T0)).toBe(false);
    expect(claims.claim("state-99000", T0 + TTL, T0)).toBe(false);
    expect(claims.claim("state-0", T0 + TTL, T0)).toBe(true);
  });

  it("the default cap (100 000) holds under 100 001 live claims", () => {
    const claims = createClaimedStates();
    for (let i = 0; i <= 100_000; i++) claims.claim(`state-${i}`, T0 + TTL, T0);
    expect(claims.size).toBe(100_000);
  });

  it("expired claims leave from the front: one claim after 50 000 expired ones leaves only itself", () => {
    const claims = createClaimedStates();
    for (let i = 0; i < 50_000; i++) claims.claim(`old-${i}`, T0 + TTL, T0 + (i % 1000));
    expect(claims.size).toBe(50_000);
    expect(claims.claim("new", T0 + 2 * TTL + 1000, T0 + TTL + 1000)).toBe(true);
    expect(claims.size).toBe(1);
  });

  it("visits each entry once: 100 000 claims over a sliding window take < 3 Map iterator steps each (amortised)", () => {
    const claims = createClaimedStates();
    counter = countMapSteps();
    let total = 0;
    let worstWithNothingExpired = 0;
    // One claim per 10 ms for 1 000 s, each living 10 s: about 1 000 live at any time.
    for (let i = 0; i < 100_000; i++) {
      const now = T0 + i * 10;
      counter.reset();
      claims.claim(`state-${i}`, now + 10_000, now);
      total += counter.steps();
      if (i < 1000) worstWithNothingExpired = Math.max(worstWithNothingExpired, counter.steps());
    }
    counter.restore();
    expect(claims.size).toBeLessThanOrEqual(1001);
    // Nothing expired yet: the sweep looks at the oldest entry only and stops.
    expect(worstWithNothingExpired).toBeLessThanOrEqual(2);
    // Each entry is removed once, by one step; one more step finds the first live one.
    expect(total / 100_000).toBeLessThan(3);
  });
});

describe("createPageRegistry", () => {
  let next = 0;
  const randomId = (): string => `ref-${next++}`;

  it("a template is handed out once, and an unknown or missing reference gives nothing", () => {
    const pages = createPageRegistry(TTL, randomId);
    const ref = pages.add(template, T0);
    expect(pages.take(ref)).toBe(template);
    expect(pages.take(ref)).toBeUndefined();
    expect(pages.take("nope")).toBeUndefined();
    expect(pages.take(undefined)).toBeUndefined();
    expect(pages.size).toBe(0);
  });

  it("stays at or below its cap under 100k inserts that never expire, the oldest leaving first", () => {
    const cap = 500;
    const pages = createPageRegistry(TTL, randomId, cap);
    const refs: string[] = [];
    let largest = 0;
    for (let i = 0; i < 100_000; i++) {
      refs.push(pages.add(template, T0));
      largest = Math.max(largest, pages.size);
    }
    expect(largest).toBe(cap);
    expect(pages.take(refs[0])).toBeUndefined();
    expect(pages.take(refs[99_999 - cap + 1])).toBe(template);
  });

  it("the default cap (10 000) holds under 100k inserts", () => {
    const pages = createPageRegistry(TTL, randomId);
    for (let i = 0; i < 100_000; i++) pages.add(template, T0);
    expect(pages.size).toBe(10_000);
  });

  it("expired templates leave from the front: one insert after 9 000 expired ones leaves only itself", () => {
    const pages = createPageRegistry(TTL, randomId);
    const old = Array.from({ length: 9000 }, (_, i) => pages.add(template, T0 + i));
    expect(pages.size).toBe(9000);
    const fresh = pages.add(template, T0 + 9000 + TTL);
    expect(pages.size).toBe(1);
    expect(pages.take(old[8999])).toBeUndefined();
    expect(pages.take(fresh)).toBe(template);
  });

  it("visits each entry once: 100 000 inserts over a sliding window take < 3 Map iterator steps each (amortised)", () => {
    const pages = createPageRegistry(10_000, randomId);
    counter = countMapSteps();
    let total = 0;
    for (let i = 0; i < 100_000; i++) {
      counter.reset();
      pages.add(template, T0 + i * 10);
      total += counter.steps();
    }
    counter.restore();
    expect(pages.size).toBeLessThanOrEqual(1001);
    expect(total / 100_000).toBeLessThan(3);
  });
});
