import { createHash } from "node:crypto";
import type { Request, Response } from "express";
import { Authorization } from "./authorization.js";
import { FletAuthError } from "../errors.js";
import { notify, type LoginSource } from "../events.js";
import type { ProviderContext, OAuthProvider } from "../providers/provider.js";
import type { RefreshCodec } from "../refresh/lock.js";
import type { Runtime } from "../runtime.js";
import type { StoredAuthorization } from "../session/data.js";
import { authData, regenerateSession, saveSession, setAuthData } from "../session/session.js";
import { OAuthToken } from "../oauth/token.js";
import { makeUser, type User } from "./user.js";
import { setRequestAuth } from "./request-auth.js";

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
  readonly source: LoginSource;
}

/**
 * Fetches the user (and groups), then commits the sign-in: a new session id (no fixation),
 * the sealed token stored, the remember-me cookie written when asked, the session saved — and
 * only then the `login` event (events notify after state is committed).
 */
export async function completeSignIn(rt: Runtime, req: Request, res: Response, s: SignIn): Promise<Authorization> {
  const user = s.fetchUser ? await fetchUserAndGroups(rt, s.provider, s.token, s.fetchGroups) : undefined;
  const stored: StoredAuthorization = {
    token: await rt.tokens.seal(s.token.toJson()),
    user,
    fetchUser: s.fetchUser,
    fetchGroups: s.fetchGroups,
    scope: [...s.scope],
  };
  const { auths: previous = {}, tx } = authData(req);
  // Other providers' sign-ins and logins still pending (another tab) move to the new session id.
  await regenerateSession(req, { auths: { ...previous, [s.name]: stored }, current: s.name, ...(tx ? { tx } : {}) });
  if (s.remember && rt.rememberMe) {
    await rt.rememberMe.write(req, res, {
      provider: s.name,
      token: s.token.toJson(),
      fetchUser: s.fetchUser,
      fetchGroups: s.fetchGroups,
      scope: s.scope,
      since: s.rememberSince,
    });
  }
  await saveSession(req);
  await setRequestAuth(rt, req, res);
  const auth = req.authorizations[s.name] ?? buildAuthorization(rt, req, res, s.name, stored, s.token);
  notify(rt.emitter, rt.config.logger, "login", {
    name: "login",
    error: undefined,
    errorDescription: undefined,
    provider: s.name,
    auth,
    source: s.source,
    req,
    res,
  });
  return auth;
}

/** Flet's user/groups step (behaviour §3.4): groups only with a user. */
async function fetchUserAndGroups(
  rt: Runtime,
  provider: OAuthProvider,
  token: OAuthToken,
  fetchGroups: boolean,
): Promise<User | undefined> {
  const ctx: ProviderContext = {
    accessToken: token.accessToken,
    token,
    getJson: (url, options) => rt.config.http.getJson(url, token.accessToken, options?.headers),
  };
  try {
    const user = await provider.fetchUser(ctx);
    if (user === undefined || !fetchGroups) return user;
    const groups = await provider.fetchGroups(ctx);
    return makeUser(user, user.id, groups);
  } catch (err) {
    if (err instanceof FletAuthError) throw err;
    throw new FletAuthError("user_fetch_failed", "Fetching the user failed.", { cause: err });
  }
}

/** An {@link Authorization} for a stored entry, whose `getToken()` refreshes through the runtime. */
export function buildAuthorization(
  rt: Runtime,
  req: Request,
  res: Response,
  name: string,
  stored: StoredAuthorization,
  token: OAuthToken,
): Authorization {
  const oauthProvider = rt.config.providers.get(name);
  if (!oauthProvider) throw new FletAuthError("unknown_provider", `Unknown provider "${name}".`);
  return new Authorization({
    provider: name,
    oauthProvider,
    token,
    user: stored.user,
    fetchUser: stored.fetchUser,
    fetchGroups: stored.fetchGroups,
    scope: stored.scope,
    refreshMarginSeconds: rt.config.refreshMarginSeconds,
    clock: rt.config.clock,
    refresher: (auth, current) => refreshStored(rt, req, res, auth, current),
  });
}

/**
 * Refreshes through the single-flight lock. `role.leader` tells the caller whether its own call
 * reached the token endpoint (the others shared it), so events fire once per refresh, not once
 * per waiting request.
 */
function refreshToken(
  rt: Runtime,
  name: string,
  provider: OAuthProvider,
  token: OAuthToken,
  role: { leader: boolean } = { leader: false },
): Promise<OAuthToken> {
  const refresh = token.refreshToken;
  if (refresh === undefined) return Promise.resolve(token);
  // Keyed by the token generation being replaced (refresh + access token): callers holding the
  // same expiring token share one refresh, even when the provider does not rotate refresh tokens.
  const key = `${name}:${createHash("sha256").update(`${refresh}\n${token.accessToken}`).digest("base64url")}`;
  return rt.config.refreshLock
    .run(
      key,
      async () => {
        role.leader = true;
        return token.refreshedWith(await rt.config.http.refresh(provider, refresh), rt.config.clock());
      },
      sealedTokenCodec(rt),
    )
    .catch((err: unknown) => {
      if (err instanceof FletAuthError && err.code === "refresh_failed") throw err;
      const status = err instanceof FletAuthError ? err.status : 502;
      throw new FletAuthError("refresh_failed", err instanceof Error ? err.message : "Refreshing the token failed.", {
        cause: err,
        status,
        ...(err instanceof FletAuthError && err.oauthError ? { oauthError: err.oauthError } : {}),
      });
    });
}

/**
 * How a shared (distributed) lock stores a refresh result: sealed like the session's token, so a
 * shared store never holds a plaintext token. Every instance needs the same `secret` to open it.
 */
function sealedTokenCodec(rt: Runtime): RefreshCodec<OAuthToken> {
  return {
    encode: (token) => rt.tokens.seal(token.toJson()),
    async decode(text) {
      const json = await rt.tokens.open(text);
      const token = json === undefined ? undefined : tryFromJson(json);
      if (token === undefined) {
        throw new FletAuthError("refresh_failed", "Another instance's refresh result does not open with this instance's secret.", { status: 503 });
      }
      return token;
    },
  };
}

function tryFromJson(json: string): OAuthToken | undefined {
  try {
    return OAuthToken.fromJson(json);
  } catch {
    return undefined;
  }
}

/**
 * {@link refreshToken}, following the chain when the lock answers with a successor that is itself
 * due: a stale session copy (or saved token) may hold a refresh token rotated long ago, whose
 * successor the lock still knows (see `graceMs`). A few hops at most.
 */
export async function refreshUntilFresh(
  rt: Runtime,
  name: string,
  provider: OAuthProvider,
  token: OAuthToken,
  role: { leader: boolean } = { leader: false },
): Promise<OAuthToken> {
  let next = await refreshToken(rt, name, provider, token, role);
  for (let hop = 0; hop < 3 && next.refreshToken !== undefined && next !== token; hop += 1) {
    if (!next.isExpiring(rt.config.clock(), rt.config.refreshMarginSeconds)) break;
    const previous = next;
    next = await refreshToken(rt, name, provider, previous, role);
    if (next === previous) break;
  }
  return next;
}

/**
 * `getToken()` of a stored authorization: refresh, then persist to this request's session (and
 * to the remember-me cookie while headers can still be sent). When the provider answers
 * `invalid_grant` the grant is gone: the authorization is removed and `logout` emitted
 * (checklist 28); other failures leave the session as it was.
 */
async function refreshStored(rt: Runtime, req: Request, res: Response, auth: Authorization, token: OAuthToken): Promise<OAuthToken> {
  let next: OAuthToken;
  const role = { leader: false };
  try {
    next = await refreshUntilFresh(rt, auth.provider, auth.oauthProvider, token, role);
  } catch (err) {
    if (err instanceof FletAuthError && err.oauthError === "invalid_grant") await dropRevoked(rt, req, res, auth, role.leader);
    throw err;
  }
  const data = authData(req);
  const stored = data.auths?.[auth.provider];
  if (stored) {
    const sealed = await rt.tokens.seal(next.toJson());
    setAuthData(req, { ...data, auths: { ...data.auths, [auth.provider]: { ...stored, token: sealed } } });
    await saveSession(req);
  }
  if (rt.rememberMe && !res.headersSent) {
    const remembered = await rt.rememberMe.read(req);
    if (remembered?.provider === auth.provider) await rt.rememberMe.write(req, res, { ...remembered, token: next.toJson() });
  }
  for (const other of Object.values(req.authorizations ?? {})) if (other.provider === auth.provider) other.updateToken(next);
  if (role.leader) notify(rt.emitter, rt.config.logger, "refresh", { name: "refresh", provider: auth.provider, auth, req });
  return next;
}

async function dropRevoked(rt: Runtime, req: Request, res: Response, auth: Authorization, announce: boolean): Promise<void> {
  const data = authData(req);
  const auths = { ...data.auths };
  delete auths[auth.provider];
  const rest = Object.keys(auths);
  setAuthData(req, { ...data, auths, current: data.current === auth.provider ? rest[rest.length - 1] : data.current });
  if (rt.rememberMe && !res.headersSent) {
    const remembered = await rt.rememberMe.read(req);
    if (remembered?.provider === auth.provider) rt.rememberMe.clear(req, res);
  }
  await saveSession(req).catch(() => undefined);
  await setRequestAuth(rt, req, res);
  if (announce) notify(rt.emitter, rt.config.logger, "logout", { name: "logout", provider: auth.provider, auth, reason: "refresh_failed", req, res });
}
