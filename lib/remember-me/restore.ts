import type { Request, Response } from "express";
import { FletAuthError } from "../errors.js";
import { loginEvent, notify } from "../events.js";
import { OAuthToken } from "../oauth/token.js";
import { refreshedIdentity, refreshToFresh } from "../refresh/engine.js";
import type { Runtime } from "../runtime.js";
import { completeSignIn } from "../signin/commit.js";
import { checkSeries } from "./series.js";

/**
 * A browser with no signed-in session but a remember-me cookie (SPEC §4): open the cookie
 * (microseconds, no PBKDF2), check and rotate its series, refresh and re-fetch the user as
 * needed, sign in. A cookie that does not open, whose series was revoked, or whose grant the
 * provider refuses, is cleared; an already-rotated cookie revokes its series (`logout` with
 * reason `remember_me_reused`); a provider outage leaves it for the next request.
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
  const check = await checkSeries(rt.config, saved.series, saved.nonce);
  if (check.kind !== "valid") {
    remember.clear(req, res);
    if (check.kind === "reused") {
      rt.config.logger.warn(`flet-auth: a remember-me cookie of provider "${saved.provider}" was used after it had been rotated (a copy?); its series is revoked.`);
      notify(rt.emitter, rt.config.logger, "logout", { name: "logout", provider: saved.provider, auth: undefined, reason: "remember_me_reused", req, res });
    }
    return;
  }
  try {
    let token = OAuthToken.fromJson(saved.token);
    let oidc: Awaited<ReturnType<typeof refreshedIdentity>>;
    // Bound to the series: the same browser's concurrent restores share one refresh; a copy of an
    // old cookie elsewhere is another series generation and goes to the provider.
    if (token.isExpiring(rt.config.clock(), rt.config.refreshMarginMs)) {
      const refreshed = await refreshToFresh(rt, saved.provider, provider, token, `series:${saved.series}:${saved.nonce}`);
      token = refreshed.token;
      oidc = await refreshedIdentity(rt, provider, saved.scope, refreshed);
    }
    await completeSignIn(rt, req, res, {
      oidc,
      name: saved.provider,
      provider,
      token,
      fetchUser: saved.fetchUser,
      fetchGroups: saved.fetchGroups,
      scope: saved.scope,
      // Stryker disable next-line BooleanLiteral: equivalent, `remember` is read only without a series, and a restore always has one.
      remember: true,
      rememberSince: saved.since,
      series: { id: saved.series, rotateFrom: saved.nonce },
      source: "rememberMe",
    });
  } catch (err) {
    // Stryker disable next-line ObjectLiteral: equivalent, the event copies only the code and message; the cause is for debuggers.
    const e = err instanceof FletAuthError ? err : new FletAuthError("user_fetch_failed", "Restoring the remembered sign-in failed.", { cause: err });
    // A provider outage keeps the cookie (and its series, not rotated) for the next request.
    if (e.status < 500) remember.clear(req, res);
    notify(rt.emitter, rt.config.logger, "login", loginEvent({ provider: saved.provider, source: "rememberMe", req, res }, { error: e }));
  }
}
