import type { Request, Response } from "express";
import { notify, type LogoutReason } from "../events.js";
import { OAuthToken } from "../oauth/token.js";
import { refreshStored } from "../refresh/engine.js";
import type { Runtime } from "../runtime.js";
import { authData, regenerateSession, setAuthData } from "../session/session.js";
import { createAuthorization, type Authorization } from "./authorization.js";
import { currentProvider } from "./current.js";
import { expiry, seenAtDue, signInState } from "./lifetime.js";
import { openRecord, sealRecord, type OpenedRecord, type SignInRecord } from "./records.js";

/**
 * Sets `req.authorizations` and `req.auth` from the session. An entry that does not open (secret
 * rotated out, store tampered with), that outlived its idle or absolute lifetime, or that was
 * ended elsewhere counts as signed out and is removed — never a 500 (checklist 24, 26). Entries
 * of providers this instance does not configure (another fletAuth() instance of the app) are
 * left alone. A request that only reads leaves the session untouched.
 */
export async function setRequestAuth(rt: Runtime, req: Request, res: Response): Promise<void> {
  const data = authData(req);
  const now = rt.config.clock();
  const live: OpenedRecord[] = [];
  const gone: Array<{ readonly name: string; readonly reason: LogoutReason | undefined; readonly opened?: OpenedRecord }> = [];
  for (const [name, sealed] of Object.entries(data.auths ?? {})) {
    // Another fletAuth() instance's provider: not ours to show, not ours to remove.
    if (!rt.config.providers.has(name)) continue;
    const opened = await openRecord(rt, name, sealed);
    if (opened === undefined) {
      gone.push({ name, reason: undefined });
      continue;
    }
    const reason = expiry(opened.record, now, rt.config);
    if (reason !== undefined) gone.push({ name, reason, opened });
    else live.push(opened);
  }
  const state = await signInState(rt.config, live.map((o) => o.record));
  const all: Record<string, Authorization> = {};
  const touched: Record<string, string> = {};
  for (const stored of live) {
    if (state.ended.has(stored.record.id)) {
      gone.push({ name: stored.record.provider, reason: "ended", opened: stored });
      continue;
    }
    const healed = await newest(rt, stored, state.latest.get(stored.record.id));
    const { record, token } = healed ?? stored;
    all[record.provider] = buildAuthorization(rt, req, res, record, token);
    if (healed !== undefined || seenAtDue(record, now, rt.config)) touched[record.provider] = await sealRecord(rt, { ...record, seenAt: now });
  }
  if (gone.some((g) => g.reason === "ended") && Object.keys(all).length === 0) {
    // The session's sign-ins were ended elsewhere — a logout of this very session that a slower
    // request raced and wrote back, "sign out everywhere", back-channel logout: the session copy
    // is a leftover, so none of it survives (the app's keys included), as after a logout.
    await regenerateSession(req);
  } else if (gone.length > 0 || Object.keys(touched).length > 0) {
    const auths: Record<string, string> = { ...data.auths, ...touched };
    for (const { name } of gone) delete auths[name];
    const names = Object.keys(auths);
    setAuthData(req, { ...data, auths, current: currentProvider(data.current, names) });
  }
  req.authorizations = Object.freeze(all);
  const current = currentProvider(data.current, Object.keys(all));
  req.auth = current === undefined ? undefined : all[current];
  // Events notify after the state is set (they see req.auth without the ended sign-in).
  for (const { name, reason, opened } of gone) {
    if (reason === undefined || opened === undefined) continue;
    const auth = buildAuthorization(rt, req, res, opened.record, opened.token);
    notify(rt.emitter, rt.config.logger, "logout", { name: "logout", provider: name, auth, reason, req, res });
  }
}

/**
 * The sign-in with its newest token when the store knows a newer one than this session copy (a
 * request that loaded the session before a refresh wrote its stale copy back), else undefined.
 */
async function newest(rt: Runtime, stored: OpenedRecord, latest: string | undefined): Promise<OpenedRecord | undefined> {
  if (latest === undefined) return undefined;
  const bar = latest.indexOf("|");
  if (!(Number(latest.slice(0, bar)) > stored.record.refreshes)) return undefined;
  const json = await rt.tokens.open(latest.slice(bar + 1));
  if (json === undefined) return undefined;
  try {
    return { record: { ...stored.record, token: json, refreshes: Number(latest.slice(0, bar)) }, token: OAuthToken.fromJson(json) };
  } catch {
    return undefined;
  }
}

/** An {@link Authorization} for a stored record, whose `getToken()` refreshes through the engine. */
export function buildAuthorization(rt: Runtime, req: Request, res: Response, record: SignInRecord, token: OAuthToken): Authorization {
  const oauthProvider = rt.config.providers.get(record.provider);
  if (oauthProvider === undefined) throw new TypeError(`flet-auth: no provider "${record.provider}" in this instance`);
  return createAuthorization({
    provider: record.provider,
    oauthProvider,
    token,
    user: record.user,
    fetchUser: record.fetchUser,
    fetchGroups: record.fetchGroups,
    scope: record.scope,
    claims: record.claims,
    refreshMarginMs: rt.config.refreshMarginMs,
    clock: rt.config.clock,
    refresher: (auth, current) => refreshStored(rt, req, res, auth, record.id, current),
  });
}
