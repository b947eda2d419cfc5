import { createHash } from "node:crypto";

/** One pending login, stored server-side in the session between `/login` and the callback. */
export interface Transaction {
  readonly provider: string;
  /** PKCE code verifier (RFC 7636 §4.1), sent only to the token endpoint. */
  readonly verifier: string;
  /** OpenID Connect nonce, when this login's ID token is verified. */
  readonly nonce?: string | undefined;
  /** Milliseconds epoch when the login started. */
  readonly createdAt: number;
  readonly returnTo: string | undefined;
  readonly fetchUser: boolean;
  readonly fetchGroups: boolean;
  readonly scope: readonly string[];
  /** Same-tab flow: redirect to returnTo after the callback instead of answering the complete page. */
  readonly redirectToPage: boolean;
  /** Keep the token in the remember-me cookie after sign-in. */
  readonly remember: boolean;
  /** A per-login complete page given as a string. */
  readonly completePageHtml?: string | undefined;
  /** Id of a per-login complete page given as a function (held in memory, see middleware). */
  readonly completePageRef?: string | undefined;
}

/** Pending logins by hashed state. */
export type TransactionTable = Record<string, Transaction>;

/** Most pending logins a session keeps (checklist 33): a page opening many login tabs still works. */
export const MAX_PENDING = 8;

/**
 * States are stored under their SHA-256, so the lookup compares digests, not the secret value
 * (no timing side channel on the state itself, RFC 9700 §2.1).
 */
export function stateKey(state: string): string {
  return createHash("sha256").update(state).digest("base64url");
}

/** Adds a transaction, dropping expired ones and, past {@link MAX_PENDING}, the oldest. */
export function addTransaction(table: TransactionTable | undefined, state: string, tx: Transaction, ttlMs: number): TransactionTable {
  const live = Object.entries(table ?? {}).filter(([, t]) => tx.createdAt - t.createdAt < ttlMs);
  live.sort(([, a], [, b]) => a.createdAt - b.createdAt);
  while (live.length >= MAX_PENDING) live.shift();
  return Object.fromEntries([...live, [stateKey(state), tx]]);
}

/** Result of {@link takeTransaction}. */
export type TakeResult =
  | { readonly ok: true; readonly tx: Transaction; readonly rest: TransactionTable }
  | { readonly ok: false; readonly reason: "invalid_state" | "state_expired"; readonly rest: TransactionTable; readonly tx?: Transaction };

/**
 * Removes and returns the transaction of `state` (single use, RFC 9700 §4.7.1), checking its
 * expiry on lookup (Flet only sweeps every 10 s). The entry is gone whatever the outcome.
 */
export function takeTransaction(table: TransactionTable | undefined, state: unknown, nowMs: number, ttlMs: number): TakeResult {
  const rest: TransactionTable = { ...(table ?? {}) };
  if (typeof state !== "string" || state === "" || state.length > 512) return { ok: false, reason: "invalid_state", rest };
  const key = stateKey(state);
  const tx = rest[key];
  if (tx === undefined) return { ok: false, reason: "invalid_state", rest };
  delete rest[key];
  if (nowMs - tx.createdAt >= ttlMs || nowMs < tx.createdAt - 60_000) return { ok: false, reason: "state_expired", rest, tx };
  return { ok: true, tx, rest };
}
