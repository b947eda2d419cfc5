/**
 * createExpiringMap (lib/util/expiring-map.ts) at its edges: an entry whose expiry time has come
 * is gone (expiresAt is exclusive, for eviction as for get), and at the cap the entry set longest
 * ago leaves first — a key set again counts from its latest set, not its first.
 */
import { describe, expect, it } from "vitest";
import { createExpiringMap } from "../../../lib/util/expiring-map.js";

describe("createExpiringMap: expiry", () => {
  it("an insert at exactly an entry's expiresAt evicts it: size counts live entries only", () => {
    const map = createExpiringMap<string>(10);
    map.set("a", "A", 100, 0);
    map.set("b", "B", 200, 100);
    expect(map.size).toBe(1);
    expect(map.get("a", 100)).toBeUndefined();
    expect(map.get("b", 100)).toBe("B");
  });

  it("one millisecond before its expiresAt the entry stays", () => {
    const map = createExpiringMap<string>(10);
    map.set("a", "A", 100, 0);
    map.set("b", "B", 200, 99);
    expect(map.size).toBe(2);
    expect(map.get("a", 99)).toBe("A");
  });
});

describe("createExpiringMap: the cap", () => {
  it("at the cap the key set longest ago leaves, counting a key set again from its latest set", () => {
    const map = createExpiringMap<number>(3);
    map.set("a", 1, 1000, 0);
    map.set("b", 2, 1000, 0);
    map.set("a", 3, 1000, 0); // a is now newer than b
    map.set("c", 4, 1000, 0); // full: a, b, c
    map.set("d", 5, 1000, 0); // b leaves, not a
    expect(map.size).toBe(3);
    expect(map.get("b", 0)).toBeUndefined();
    expect(map.get("a", 0)).toBe(3);
    expect(map.get("c", 0)).toBe(4);
    expect(map.get("d", 0)).toBe(5);
  });

  it("a deleted key's old slot is skipped: the cap then evicts the oldest key still present", () => {
    const map = createExpiringMap<number>(2);
    map.set("a", 1, 1000, 0);
    map.set("b", 2, 1000, 0);
    map.delete("a");
    map.set("c", 3, 1000, 0); // room: a was deleted
    expect(map.size).toBe(2);
    map.set("d", 4, 1000, 0); // full: b leaves
    expect(map.get("b", 0)).toBeUndefined();
    expect(map.get("c", 0)).toBe(3);
    expect(map.get("d", 0)).toBe(4);
  });
});
