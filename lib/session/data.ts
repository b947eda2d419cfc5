import type { TransactionTable } from "../flow/transactions.js";
import type { User } from "../signin/user.js";

/** One signed-in provider as kept in the session store. The token is sealed (encrypted at rest). */
export interface StoredAuthorization {
  /** Fernet token of the token JSON, sealed with a key derived from the session secret. */
  readonly token: string;
  readonly user: User | undefined;
  readonly fetchUser: boolean;
  readonly fetchGroups: boolean;
  readonly scope: readonly string[];
}

/** Everything flet-auth keeps in `req.session.fletAuth`. */
export interface FletAuthSessionData {
  /** Pending logins by hashed state. */
  tx?: TransactionTable;
  /** Signed-in providers by name. */
  auths?: Record<string, StoredAuthorization>;
  /** The provider of the last sign-in: `req.auth`. */
  current?: string;
}

declare module "express-session" {
  interface SessionData {
    fletAuth?: FletAuthSessionData;
  }
}
