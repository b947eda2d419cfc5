/**
 * flet-auth: Flet's "Login with X" authentication for Express. Mount {@link fletAuth} on an
 * Express app; the signed-in provider is then `req.auth` (an {@link Authorization}).
 *
 * @example
 * import express from "express";
 * import { fletAuth, GitHubOAuthProvider } from "flet-auth";
 *
 * const github = new GitHubOAuthProvider({
 *   clientId: process.env.GITHUB_CLIENT_ID!,
 *   clientSecret: process.env.GITHUB_CLIENT_SECRET!,
 *   redirectUrl: "http://localhost:8550/oauth_callback",
 * });
 * const app = express();
 * app.use(fletAuth({ providers: { github }, secret: process.env.SESSION_SECRET! }));
 * app.get("/", (req, res) => res.send(req.auth ? `Hello ${req.auth.user!["login"]}` : `<a href="/login/github">Login</a>`));
 * app.listen(8550);
 *
 * @module flet-auth
 * @packageDocumentation
 */
import "./augment.js";

export { fletAuth, type FletAuthMiddleware } from "./middleware.js";
export type { FletAuthOptions, RememberMeOptions } from "./config.js";
export type { LoginOptions, LogoutOptions, SavedTokenLoginOptions } from "./signin/request-methods.js";
export { Authorization } from "./signin/authorization.js";
export { OAuthToken, type OAuthTokenFields } from "./oauth/token.js";
export type { User, Group } from "./signin/user.js";
export { OAuthProvider, type DiscoverOptions, type OAuthProviderOptions, type ProviderContext, type UserProfile } from "./providers/provider.js";
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
