import type { TransactionTable } from "../flow/transactions.js";

/** Everything flet-auth keeps in `req.session.fletAuth`. */
export interface FletAuthSessionData {
  /** Pending logins by hashed state. */
  tx?: TransactionTable;
  /**
   * Signed-in providers by name, each the id of its sign-in. The records themselves (tokens, user,
   * lifetimes) are sealed in the flet-auth store under that id (lib/signin/stored.ts): a Fernet
   * token under a key derived from the session secret, so no store holds anything readable or
   * anything it can edit undetected, and the session stays small.
   */
  auths?: Record<string, string>;
  /** The provider of the last sign-in: `req.auth`. */
  current?: string;
  /** An RP-initiated logout under way: the hashed `state` to expect back, and where to go then. */
  logout?: { readonly state: string; readonly returnTo: string; readonly expiresAt: number };
}

declare module "express-session" {
  interface SessionData {
    fletAuth?: FletAuthSessionData;
  }
}
