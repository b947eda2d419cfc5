/**
 * The refresh engine: `getToken()`'s refresh of a stored authorization, through the refresh lock
 * (single flight in a process, and across processes with a distributed lock), persisted to the
 * session and the remember-me cookie; a revoked grant signs the provider out.
 */
import { createHash } from "node:crypto";
import type { Request, Response } from "express";
import { FletAuthError } from "../errors.js";
import { notify } from "../events.js";
import { OAuthToken } from "../oauth/token.js";
import type { OAuthProvider } from "../providers/provider.js";
import type { Runtime } from "../runtime.js";
import { authData, saveSession, setAuthData } from "../session/session.js";
import { updateAuthorizationToken, type Authorization } from "../signin/authorization.js";
import { currentProvider } from "../signin/current.js";
import type { RefreshCodec } from "./lock.js";

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
    if (!next.isExpiring(rt.config.clock(), rt.config.refreshMarginMs)) break;
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
export async function refreshStored(rt: Runtime, req: Request, res: Response, auth: Authorization, token: OAuthToken): Promise<OAuthToken> {
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
  for (const other of Object.values(req.authorizations ?? {})) if (other.provider === auth.provider) updateAuthorizationToken(other, next);
  if (role.leader) notify(rt.emitter, rt.config.logger, "refresh", { name: "refresh", provider: auth.provider, auth, req });
  return next;
}

async function dropRevoked(rt: Runtime, req: Request, res: Response, auth: Authorization, announce: boolean): Promise<void> {
  const data = authData(req);
  const auths = { ...data.auths };
  delete auths[auth.provider];
  setAuthData(req, { ...data, auths, current: currentProvider(data.current === auth.provider ? undefined : data.current, Object.keys(auths)) });
  if (rt.rememberMe && !res.headersSent) {
    const remembered = await rt.rememberMe.read(req);
    if (remembered?.provider === auth.provider) rt.rememberMe.clear(req, res);
  }
  await saveSession(req).catch(() => undefined);
  const left = { ...req.authorizations };
  delete left[auth.provider];
  req.authorizations = Object.freeze(left);
  const current = currentProvider(authData(req).current, Object.keys(left));
  req.auth = current === undefined ? undefined : left[current];
  if (announce) notify(rt.emitter, rt.config.logger, "logout", { name: "logout", provider: auth.provider, auth, reason: "refresh_failed", req, res });
}
