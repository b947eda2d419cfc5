import type { OAuthProvider } from "../providers/provider.js";
import type { OAuthToken } from "../oauth/token.js";
import type { User } from "./user.js";

/** Refreshes `token` (single flight) and persists the result; supplied by the request context. */
export type TokenRefresher = (auth: Authorization, token: OAuthToken) => Promise<OAuthToken>;

/** What an {@link Authorization} is made of. */
export interface AuthorizationInit {
  readonly provider: string;
  readonly oauthProvider: OAuthProvider;
  readonly token: OAuthToken;
  readonly user: User | undefined;
  readonly fetchUser: boolean;
  readonly fetchGroups: boolean;
  readonly scope: readonly string[];
  readonly claims?: Readonly<Record<string, unknown>> | undefined;
  readonly refreshMarginMs: number;
  readonly clock: () => number;
  readonly refresher: TokenRefresher;
}

// Module-private: the constructor and the token update are reachable from flet-auth's modules only
// (through the functions below, which lib/index.ts does not export), not from app code.
const CONSTRUCTING = Symbol("flet-auth:Authorization");
let construct: (init: AuthorizationInit) => Authorization;
let replaceToken: (auth: Authorization, token: OAuthToken) => void;

/**
 * One signed-in provider of the session (Flet's `page.auth`): `req.auth`, or one entry of
 * `req.authorizations`.
 *
 * @example
 * app.get("/repos", async (req, res) => {
 *   if (!req.auth) return res.redirect("/login/github?returnTo=/repos");
 *   const { accessToken } = await req.auth.getToken(); // refreshed first when about to expire
 *   const repos = await fetch("https://api.github.com/user/repos", { headers: { Authorization: `Bearer ${accessToken}` } });
 *   res.json(await repos.json());
 * });
 */
export class Authorization {
  /** The provider's name, the key in `fletAuth({ providers })`. */
  readonly provider: string;
  /** The provider's configuration. */
  readonly oauthProvider: OAuthProvider;
  /** The user, when it was fetched (`fetchUser`, default true). */
  readonly user: User | undefined;
  readonly fetchUser: boolean;
  readonly fetchGroups: boolean;
  /** The scopes this login asked for. */
  readonly scope: readonly string[];
  /**
   * OpenID Connect: the verified ID token's claims (frozen), for providers that verify ID tokens
   * (`issuer` + JWKS, `openid` in the scope); `undefined` otherwise.
   */
  readonly claims: Readonly<Record<string, unknown>> | undefined;
  #token: OAuthToken;
  #pending: Promise<OAuthToken> | undefined;
  readonly #margin: number;
  readonly #clock: () => number;
  readonly #refresher: TokenRefresher;

  /** Built by flet-auth from the session; apps receive instances, they do not construct them. */
  private constructor(key: symbol, init: AuthorizationInit) {
    if (key !== CONSTRUCTING) throw new TypeError("Authorization objects come from flet-auth (req.auth, req.authorizations); apps do not construct them");
    this.provider = init.provider;
    this.oauthProvider = init.oauthProvider;
    this.user = init.user;
    this.fetchUser = init.fetchUser;
    this.fetchGroups = init.fetchGroups;
    this.scope = Object.freeze([...init.scope]);
    this.claims = init.claims;
    this.#token = init.token;
    this.#margin = init.refreshMarginMs;
    this.#clock = init.clock;
    this.#refresher = init.refresher;
  }

  /**
   * The token as last stored, not refreshed. To call an API, use {@link Authorization.getToken},
   * which refreshes first when needed (Flet's guide: do not keep a token around).
   */
  get token(): OAuthToken {
    return this.#token;
  }

  /**
   * The token, refreshed first when it expires within the margin (default 60 s) and a refresh
   * token exists. Concurrent calls share one refresh. Tokens without `expiresAt` are never refreshed.
   * @throws FletAuthError `refresh_failed` when the provider refuses or cannot be reached.
   * @example
   * const { accessToken } = await req.auth!.getToken();
   */
  async getToken(): Promise<OAuthToken> {
    const token = this.#token;
    if (token.refreshToken === undefined || !token.isExpiring(this.#clock(), this.#margin)) return token;
    // Callers within one request share one refresh and one session write; callers across
    // requests share the token-endpoint call through the refresh lock.
    this.#pending ??= this.#refresher(this, token).finally(() => {
      this.#pending = undefined;
    });
    this.#token = await this.#pending;
    return this.#token;
  }

  static {
    construct = (init) => new Authorization(CONSTRUCTING, init);
    replaceToken = (auth, token) => {
      auth.#token = token;
    };
  }

  /** A JSON view without secrets (no tokens): safe to log or to send to the browser. */
  toJSON(): { provider: string; user: User | undefined; scope: readonly string[] } {
    return { provider: this.provider, user: this.user, scope: this.scope };
  }
}

/** Creates an {@link Authorization} (flet-auth internal). */
export function createAuthorization(init: AuthorizationInit): Authorization {
  return construct(init);
}

/** Replaces an authorization's token after a refresh done on behalf of another request (flet-auth internal). */
export function updateAuthorizationToken(auth: Authorization, token: OAuthToken): void {
  replaceToken(auth, token);
}
