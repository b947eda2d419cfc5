import type { Authorization } from "./signin/authorization.js";
import type { LoginOptions, LogoutOptions, SavedTokenLoginOptions } from "./signin/request-methods.js";

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The current authorization (the last provider signed in), or `undefined` when signed out: Flet's `page.auth`. */
      auth?: Authorization | undefined;
      /** Every authorization of the session, by provider name. */
      authorizations: Readonly<Record<string, Authorization>>;
      /**
       * Flet's `page.login`. With `savedToken`, restores the authorization without a redirect and
       * resolves to it; otherwise sends the browser to the provider (or calls
       * `onOpenAuthorizationUrl`) and resolves to `undefined`.
       */
      login(provider: string, options: SavedTokenLoginOptions): Promise<Authorization>;
      login(provider: string, options?: LoginOptions): Promise<Authorization | undefined>;
      /**
       * Signs out of one provider, or of all (and clears the remember-me cookie, revoking its
       * series); emits `logout`. `{ everywhere: true }` also ends the user's sign-ins and
       * remember-me series on every other device.
       */
      logout(provider?: string, options?: LogoutOptions): Promise<void>;
    }
  }
}

export {};
