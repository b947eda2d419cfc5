/**
 * The pending-login table (lib/flow/transactions.ts): at most 8 pending logins a session, each
 * single use and valid for the login timeout — up to, not including, its last millisecond.
 */
import { describe, expect, it } from "vitest";
import { addTransaction, stateKey, takeTransaction, type Transaction, type TransactionTable } from "../../../lib/flow/transactions.js";

const TTL = 600_000;
const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);

function tx(createdAt: number, provider = "demo"): Transaction {
  return {
    provider,
    verifier: `verifier-${createdAt}`,
    createdAt,
    returnTo: undefined,
    fetchUser: true,
    fetchGroups: false,
    scope: [],
    redirectToPage: false,
    remember: false,
  };
}

/** A table built the way the login route builds it: one addTransaction per started login. */
function started(states: readonly string[], createdAt: (i: number) => number): TransactionTable {
  return states.reduce<TransactionTable>((table, state, i) => addTransaction(table, state, tx(createdAt(i)), TTL), {});
}

const pendingStates = (table: TransactionTable, states: readonly string[]): string[] => states.filter((s) => table[stateKey(s)] !== undefined);

describe("stateKey", () => {
  it("is the SHA-256 of the state, base64url: the table never holds the state itself", () => {
    expect(stateKey("abc")).toBe("ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
    expect(stateKey("abc")).not.toContain("abc");
  });
});

describe("addTransaction", () => {
  it("keeps 8 pending logins: the 8th login leaves all 8 pending", () => {
    const states = Array.from({ length: 8 }, (_, i) => `state-${i}`);
    const table = started(states, (i) => T0 + i);
    expect(Object.keys(table)).toHaveLength(8);
    expect(pendingStates(table, states)).toEqual(states);
  });

  it("a 9th login drops the oldest, whatever order the table is in", () => {
    const states = Array.from({ length: 9 }, (_, i) => `state-${i}`);
    // Started out of order: state-3 is the oldest.
    const times = [5, 6, 7, 0, 8, 9, 10, 11, 12];
    const table = started(states, (i) => T0 + (times[i] ?? 0));
    expect(Object.keys(table)).toHaveLength(8);
    expect(pendingStates(table, states)).toEqual(states.filter((s) => s !== "state-3"));
  });

  it("the new login is always kept, stored under the state's key", () => {
    const table = addTransaction(started(["a", "b"], (i) => T0 + i), "c", tx(T0 + 5, "other"), TTL);
    expect(table[stateKey("c")]).toEqual(tx(T0 + 5, "other"));
    expect(table["c"]).toBeUndefined();
  });

  it("drops logins that expired, keeping one started a millisecond less than the timeout ago", () => {
    let table = addTransaction(undefined, "expired", tx(T0), TTL);
    table = addTransaction(table, "alive", tx(T0 + 1), TTL);
    table = addTransaction(table, "new", tx(T0 + TTL), TTL);
    expect(pendingStates(table, ["expired", "alive", "new"])).toEqual(["alive", "new"]);
  });

  it("does not change the table it was given", () => {
    const table = started(["a"], () => T0);
    const copy = structuredClone(table);
    addTransaction(table, "b", tx(T0 + 1), TTL);
    expect(table).toEqual(copy);
  });
});

describe("takeTransaction", () => {
  const table = (): TransactionTable => started(["mine", "other"], () => T0);

  it("a callback one millisecond before the timeout is accepted", () => {
    const taken = takeTransaction(table(), "mine", T0 + TTL - 1, TTL);
    expect(taken).toEqual({ ok: true, tx: tx(T0), rest: { [stateKey("other")]: tx(T0) } });
  });

  it("a callback exactly at the timeout is state_expired", () => {
    const taken = takeTransaction(table(), "mine", T0 + TTL, TTL);
    expect(taken).toEqual({ ok: false, reason: "state_expired", tx: tx(T0), rest: { [stateKey("other")]: tx(T0) } });
  });

  it("tolerates a clock that went back up to a minute; further back is state_expired", () => {
    expect(takeTransaction(table(), "mine", T0 - 60_000, TTL).ok).toBe(true);
    const taken = takeTransaction(table(), "mine", T0 - 60_001, TTL);
    expect(taken).toMatchObject({ ok: false, reason: "state_expired" });
    expect(taken.rest[stateKey("mine")]).toBeUndefined();
  });

  it("is single use: the state is gone from the rest, and a second take is invalid_state", () => {
    const first = takeTransaction(table(), "mine", T0, TTL);
    expect(first.ok).toBe(true);
    const second = takeTransaction(first.rest, "mine", T0, TTL);
    expect(second).toEqual({ ok: false, reason: "invalid_state", rest: { [stateKey("other")]: tx(T0) } });
  });

  it.each([
    ["a missing state", undefined],
    ["an empty state", ""],
    ["a non-string state", ["mine"]],
    ["an unknown state", "unknown"],
  ])("%s is invalid_state and leaves the table as it was", (_what, state) => {
    const taken = takeTransaction(table(), state, T0, TTL);
    expect(taken).toEqual({ ok: false, reason: "invalid_state", rest: table() });
  });

  it("a state of up to 512 characters is looked up; a longer one is invalid_state", () => {
    const long = "s".repeat(512);
    const withLong = addTransaction(undefined, long, tx(T0), TTL);
    expect(takeTransaction(withLong, long, T0, TTL).ok).toBe(true);
    const tooLong = `${long}s`;
    const withTooLong = addTransaction(undefined, tooLong, tx(T0), TTL);
    expect(takeTransaction(withTooLong, tooLong, T0, TTL)).toMatchObject({ ok: false, reason: "invalid_state", rest: withTooLong });
  });

  it("an empty state is invalid_state even where the table holds a login under the empty state's key", () => {
    const withEmpty = addTransaction(undefined, "", tx(T0), TTL);
    expect(withEmpty[stateKey("")]).toEqual(tx(T0));
    expect(takeTransaction(withEmpty, "", T0, TTL)).toEqual({ ok: false, reason: "invalid_state", rest: withEmpty });
  });

  it("works on a session with no table yet", () => {
    expect(takeTransaction(undefined, "mine", T0, TTL)).toEqual({ ok: false, reason: "invalid_state", rest: {} });
  });

  it("does not change the table it was given", () => {
    const given = table();
    takeTransaction(given, "mine", T0, TTL);
    expect(given).toEqual(table());
  });
});
