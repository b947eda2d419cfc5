/**
 * flet-auth: Flet's "Login with X" authentication for Express.
 * @packageDocumentation
 */
import "./augment.js";

export { fletAuth, type FletAuthMiddleware } from "./middleware.js";
export type { FletAuthOptions, RememberMeOptions } from "./config.js";
export type { LoginOptions, LogoutOptions, SavedTokenLoginOptions } from "./signin/request-methods.js";
export { Authorization } from "./signin/authorization.js";
export { OAuthToken, type OAuthTokenFields } from "./oauth/token.js";
export type { User, Group } from "./signin/user.js";
export { OAuthProvider, type OAuthProviderOptions, type ProviderContext, type UserProfile } from "./providers/provider.js";
export { GitHubOAuthProvider, type GitHubOAuthProviderOptions } from "./providers/github.js";
export { AzureOAuthProvider, type AzureOAuthProviderOptions } from "./providers/azure.js";
export { Auth0OAuthProvider, type Auth0OAuthProviderOptions } from "./providers/auth0.js";
export { GoogleOAuthProvider, type GoogleOAuthProviderOptions } from "./providers/google.js";
export { FletAuthError, ErrorCodes, isFletAuthError, type FletAuthErrorCode, type FletAuthErrorOptions } from "./errors.js";
export type { LoginEvent, LogoutEvent, RefreshEvent, FletAuthEvents, LoginSource, LogoutReason, Logger } from "./events.js";
export type { CompletePageTemplate, CompletePageOutcome } from "./pages/complete-page.js";
export { createInProcessRefreshLock, type RefreshLock, type RefreshCodec, type InProcessRefreshLockOptions } from "./refresh/lock.js";
export { createMemoryStore, type MemoryStoreOptions } from "./store/memory.js";
export { createRedisStore, type RedisStoreOptions } from "./store/redis.js";
export type { FletAuthStore } from "./store/store.js";
export { createRedisRefreshLock, type RedisRefreshLockClient, type RedisRefreshLockOptions, type RedisSetOptions } from "./refresh/lock-redis.js";
export { createOAuthHttp, type OAuthHttp, type OAuthHttpOptions, type JsonResponse, type TokenClient } from "./oauth/http.js";
export type { RandomBytes } from "./flow/state.js";
