import type { Request, Response } from "express";
import { FletAuthError } from "../errors.js";
import { OAuthToken } from "../oauth/token.js";
import { refreshStored } from "../refresh/engine.js";
import type { Runtime } from "../runtime.js";
import type { StoredAuthorization } from "../session/data.js";
import { authData, setAuthData } from "../session/session.js";
import { createAuthorization, type Authorization } from "./authorization.js";
import { currentProvider } from "./current.js";

/**
 * Sets `req.authorizations` and `req.auth` from the session. A stored token that does not
 * decrypt (secret rotated out, store tampered with) counts as signed out and is removed —
 * never a 500 (checklist 26). Entries of providers this instance does not configure (another
 * fletAuth() instance of the app) are left alone.
 */
export async function setRequestAuth(rt: Runtime, req: Request, res: Response): Promise<void> {
  const data = authData(req);
  const all: Record<string, Authorization> = {};
  let dropped = false;
  for (const [name, stored] of Object.entries(data.auths ?? {})) {
    // Another fletAuth() instance's provider: not ours to show, not ours to remove.
    if (!rt.config.providers.has(name)) continue;
    const text = await rt.tokens.open(stored.token);
    let token: OAuthToken | undefined;
    try {
      token = text === undefined ? undefined : OAuthToken.fromJson(text);
    } catch {
      token = undefined;
    }
    if (token === undefined) {
      dropped = true;
      continue;
    }
    all[name] = buildAuthorization(rt, req, res, name, stored, token);
  }
  if (dropped) {
    const auths = Object.fromEntries(Object.entries(data.auths ?? {}).filter(([name]) => name in all || !rt.config.providers.has(name)));
    const keepCurrent = data.current !== undefined && (data.current in all || !rt.config.providers.has(data.current));
    setAuthData(req, { ...data, auths, current: keepCurrent ? data.current : undefined });
  }
  const current = currentProvider(data.current, Object.keys(all));
  req.authorizations = Object.freeze(all);
  req.auth = current === undefined ? undefined : all[current];
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
  return createAuthorization({
    provider: name,
    oauthProvider,
    token,
    user: stored.user,
    fetchUser: stored.fetchUser,
    fetchGroups: stored.fetchGroups,
    scope: stored.scope,
    refreshMarginMs: rt.config.refreshMarginMs,
    clock: rt.config.clock,
    refresher: (auth, current) => refreshStored(rt, req, res, auth, current),
  });
}

