import type { Request, Response } from "express";
import { FletAuthError } from "../errors.js";
import { loginEvent, notify, type LoginSource } from "../events.js";
import type { OAuthToken } from "../oauth/token.js";
import type { OAuthProvider, ProviderContext } from "../providers/provider.js";
import type { Runtime } from "../runtime.js";
import type { IdTokenClaims } from "../oidc/id-token.js";
import { rotateSeries, startSeries } from "../remember-me/series.js";
import { authData, regenerateSession, saveSession } from "../session/session.js";
import type { Authorization } from "./authorization.js";
import type { SignInRecord } from "./records.js";
import { buildAuthorization, setRequestAuth } from "./request-auth.js";
import { isSignInId, persistSignIn, removeSignIn } from "./stored.js";
import { makeUser, type User } from "./user.js";

/** What a completed sign-in is made of, whichever way it came (callback, saved token, cookie). */
export interface SignIn {
  readonly name: string;
  readonly provider: OAuthProvider;
  readonly token: OAuthToken;
  readonly fetchUser: boolean;
  readonly fetchGroups: boolean;
  readonly scope: readonly string[];
  readonly remember: boolean;
  /** For a restore from the remember-me cookie: when the user first asked to be remembered. */
  readonly rememberSince?: number | undefined;
  /** For a restore: the cookie's series and nonce, rotated once the sign-in is certain. */
  readonly series?: { readonly id: string; readonly rotateFrom: string } | undefined;
  readonly source: LoginSource;
  /** OpenID Connect: the verified ID token and its claims. */
  readonly oidc?: { readonly idToken: string; readonly claims: IdTokenClaims } | undefined;
}

/**
 * Fetches the user (and groups), then commits the sign-in: a new session id (no fixation), the
 * sealed record stored (the session keeps its id), the remember-me series started and its cookie written when asked, the
 * session saved — and only then the `login` event (events notify after state is committed).
 */
export async function completeSignIn(rt: Runtime, req: Request, res: Response, s: SignIn): Promise<Authorization> {
  const user = s.fetchUser ? await fetchUserAndGroups(rt, s.provider, s.token, s.fetchGroups, s.oidc?.claims) : undefined;
  let series: { readonly id: string; readonly nonce: string | undefined } | undefined;
  if (s.series !== undefined && rt.rememberMe) {
    const nonce = await rotateSeries(rt.config, s.series.id, s.series.rotateFrom, rt.rememberMe.remaining(s.rememberSince));
    if (nonce === "revoked") throw new FletAuthError("invalid_saved_token", "The remembered sign-in was revoked.", { status: 401 });
    // undefined: a concurrent request of this browser rotated first; its response carries the cookie.
    series = { id: s.series.id, nonce };
  } else if (s.remember && rt.rememberMe) {
    const sid = s.oidc?.claims["sid"];
    const sub = s.oidc?.claims["sub"];
    series = await startSeries(
      rt.config,
      s.name,
      { userId: user?.id, sid: typeof sid === "string" ? sid : undefined, sub: typeof sub === "string" ? sub : undefined },
      rt.rememberMe.remaining(undefined),
    );
  }
  const now = rt.config.clock();
  const record: SignInRecord = {
    id: Buffer.from(rt.config.randomBytes(16)).toString("base64url"),
    provider: s.name,
    token: s.token.toJson(),
    user,
    fetchUser: s.fetchUser,
    fetchGroups: s.fetchGroups,
    scope: [...s.scope],
    signedInAt: now,
    seenAt: now,
    refreshes: 0,
    ...(series !== undefined ? { series: series.id } : {}),
    ...(s.oidc !== undefined ? { idToken: s.oidc.idToken, claims: s.oidc.claims } : {}),
  };
  const kept = await persistSignIn(rt, req, record);
  const { auths: previous = {}, tx } = authData(req);
  // Other providers' sign-ins and logins still pending (another tab) move to the new session id.
  await regenerateSession(req, { auths: { ...previous, [s.name]: kept }, current: s.name, ...(tx ? { tx } : {}) });
  // This provider's previous sign-in in this browser is replaced: its tokens leave the store.
  const replaced = previous[s.name];
  if (replaced !== undefined && replaced !== kept && isSignInId(replaced)) await removeSignIn(rt, replaced);
  if (rt.rememberMe && series?.nonce !== undefined) {
    await rt.rememberMe.write(req, res, {
      provider: s.name,
      token: s.token.toJson(),
      fetchUser: s.fetchUser,
      fetchGroups: s.fetchGroups,
      scope: s.scope,
      since: s.rememberSince,
      series: series.id,
      nonce: series.nonce,
    });
  }
  await saveSession(req);
  await setRequestAuth(rt, req, res);
  const auth = req.authorizations[s.name] ?? buildAuthorization(rt, req, res, record, s.token);
  notify(rt.emitter, rt.config.logger, "login", loginEvent({ provider: s.name, source: s.source, req, res }, { auth }));
  return auth;
}

/** Flet's user/groups step (behaviour §3.4): groups only with a user. */
async function fetchUserAndGroups(
  rt: Runtime,
  provider: OAuthProvider,
  token: OAuthToken,
  fetchGroups: boolean,
  claims: IdTokenClaims | undefined,
): Promise<User | undefined> {
  const ctx: ProviderContext = {
    accessToken: token.accessToken,
    token,
    getJson: (url, options) => rt.config.http.getJson(url, token.accessToken, options?.headers),
  };
  try {
    // OpenID Connect: the user is the userinfo when there is a user endpoint, else the ID token's claims.
    const fetched = await provider.fetchUser(ctx);
    const user = fetched ?? (claims !== undefined && typeof claims["sub"] === "string" ? makeUser(claims, claims["sub"]) : undefined);
    // Core §5.3.2: a userinfo `sub` that is not the ID token's means the responses were mixed up.
    if (fetched !== undefined && claims !== undefined && typeof fetched["sub"] === "string" && fetched["sub"] !== claims["sub"]) {
      throw new FletAuthError("id_token_invalid", "The userinfo response names another subject than the ID token.");
    }
    if (user === undefined || !fetchGroups) return user;
    const groups = await provider.fetchGroups(ctx);
    return makeUser(user, user.id, groups);
  } catch (err) {
    if (err instanceof FletAuthError) throw err;
    throw new FletAuthError("user_fetch_failed", "Fetching the user failed.", { cause: err });
  }
}
