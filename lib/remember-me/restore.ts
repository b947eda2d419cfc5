import type { Request, Response } from "express";
import { FletAuthError } from "../errors.js";
import { loginEvent, notify } from "../events.js";
import type { Runtime } from "../runtime.js";
import { refreshUntilFresh } from "../refresh/engine.js";
import { completeSignIn } from "../signin/commit.js";
import { OAuthToken } from "../oauth/token.js";

/**
 * A browser with no signed-in session but a remember-me cookie (SPEC §4): open the cookie
 * (microseconds, no PBKDF2), refresh and re-fetch the user as needed, sign in. A cookie that
 * does not open, or whose grant the provider refuses, is cleared; a provider outage leaves it
 * for the next request.
 */
export async function restoreRemembered(rt: Runtime, req: Request, res: Response): Promise<void> {
  const remember = rt.rememberMe;
  if (!remember) return;
  const saved = await remember.read(req);
  const provider = saved ? rt.config.providers.get(saved.provider) : undefined;
  if (!saved || !provider) {
    remember.clear(req, res);
    return;
  }
  try {
    let token = OAuthToken.fromJson(saved.token);
    if (token.isExpiring(rt.config.clock(), rt.config.refreshMarginMs)) token = await refreshUntilFresh(rt, saved.provider, provider, token);
    await completeSignIn(rt, req, res, {
      name: saved.provider,
      provider,
      token,
      fetchUser: saved.fetchUser,
      fetchGroups: saved.fetchGroups,
      scope: saved.scope,
      remember: true,
      rememberSince: saved.since,
      source: "rememberMe",
    });
  } catch (err) {
    const e = err instanceof FletAuthError ? err : new FletAuthError("user_fetch_failed", "Restoring the remembered sign-in failed.", { cause: err });
    if (e.status < 500) remember.clear(req, res);
    notify(rt.emitter, rt.config.logger, "login", loginEvent({ provider: saved.provider, source: "rememberMe", req, res }, { error: e }));
  }
}
