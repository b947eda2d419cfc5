import type { Request, Response } from "express";
import { notify, type LogoutReason } from "../events.js";
import type { OAuthToken } from "../oauth/token.js";
import { refreshStored } from "../refresh/engine.js";
import type { Runtime } from "../runtime.js";
import type { FletAuthSessionData } from "../session/data.js";
import { authData, regenerateSession, setAuthData } from "../session/session.js";
import { createAuthorization, type Authorization } from "./authorization.js";
import { currentProvider } from "./current.js";
import { expiry, seenAtDue } from "./lifetime.js";
import { sealRecord, type OpenedRecord, type SignInRecord } from "./records.js";
import { showSignIns } from "./request-view.js";
import { loadSignIns, loadSignInsNow, rewriteSignIn, type StoredSignIn } from "./stored.js";

/**
 * Sets `req.authorizations` and `req.auth` from the sign-ins the session names. A sign-in whose
 * record is gone or does not open (secret rotated out, store tampered with), that outlived its
 * idle or absolute lifetime, or that was ended elsewhere counts as signed out and leaves the
 * session — never a 500 (checklist 24, 26). Sign-ins of providers this instance does not
 * configure (another fletAuth() instance of the app) are left alone. A request that only reads
 * leaves the session untouched; `seenAt` is rewritten at most hourly (in the store, or in
 * the session for records kept there). A promise only when something is waited for (a store
 * read, a write); undefined when it is done, as for a signed-in request that only reads from
 * flet-auth's in-memory store.
 */
export function setRequestAuth(rt: Runtime, req: Request, res: Response): Promise<void> | undefined {
  const data = authData(req);
  const now = rt.config.clock();
  const refs: Array<readonly [string, string]> = [];
  const auths = data.auths;
  // Another fletAuth() instance's provider: not ours to show, not ours to remove. (A loop over
  // own keys rather than Object.entries: no array per sign-in on every request.)
  if (auths !== undefined) for (const name in auths) if (Object.hasOwn(auths, name) && rt.config.providers.has(name)) refs.push([name, auths[name] as string]);
  // No async function on the way (see loadSignIns): a signed-in request that only reads settles
  // in the one callback of its store read, or at once with a store that reads synchronously.
  if (refs.length === 0) return applySignIns(rt, req, res, data, now, NONE_FOUND);
  const found = loadSignInsNow(rt, refs);
  if (found !== undefined) return applySignIns(rt, req, res, data, now, found);
  return loadSignIns(rt, refs).then((stored) => applySignIns(rt, req, res, data, now, stored));
}

type Gone = { readonly name: string; readonly reason: LogoutReason | undefined; readonly opened?: OpenedRecord };
const NONE_GONE: readonly Gone[] = Object.freeze([]);
const NONE_FOUND: readonly StoredSignIn[] = Object.freeze([]);
const NONE_TOUCHED: Readonly<Record<string, string>> = Object.freeze({});

/** {@link setRequestAuth} once the sign-ins are read; a promise only when something is written. */
function applySignIns(rt: Runtime, req: Request, res: Response, data: FletAuthSessionData, now: number, found: readonly StoredSignIn[]): Promise<void> | undefined {
  const all: Record<string, Authorization> = {};
  // Both usually stay empty: arrays made only when needed (this runs on every signed-in request).
  let gone: Gone[] | undefined;
  // Sign-ins whose `seenAt` is due, or kept in the session and healed from the store's newest token: rewritten.
  let seen: StoredSignIn[] | undefined;
  for (const stored of found) {
    const { name, opened } = stored;
    if (opened === undefined) {
      (gone ??= []).push({ name, reason: stored.ended ? "ended" : undefined });
      continue;
    }
    const reason = expiry(opened.record, now, rt.config) ?? (stored.ended ? "ended" : undefined);
    if (reason !== undefined) {
      (gone ??= []).push({ name, reason, opened });
      continue;
    }
    all[name] = buildAuthorization(rt, req, res, opened.record, opened.token);
    if (stored.healed || seenAtDue(opened.record, now, rt.config)) (seen ??= []).push(stored);
  }
  const left = gone ?? NONE_GONE;
  if (seen === undefined) return settleSession(rt, req, res, data, all, left, NONE_TOUCHED);
  return rewriteSeen(rt, seen, now).then((touched) => settleSession(rt, req, res, data, all, left, touched));
}

/** Rewrites `seenAt` of `seen`, one after the other: in the store, or resealed for the session (the new session values, by provider). */
async function rewriteSeen(rt: Runtime, seen: readonly StoredSignIn[], now: number): Promise<Record<string, string>> {
  // Records kept in the session and rewritten (seenAt, or healed from the store's newest token).
  const touched: Record<string, string> = {};
  for (const stored of seen) {
    const record = { ...(stored.opened as OpenedRecord).record, seenAt: now };
    if (stored.inSession) touched[stored.name] = await sealRecord(rt, record);
    else if (stored.sealed !== undefined) await rewriteSignIn(rt, stored.sealed, record);
  }
  return touched;
}

/** The session without what is gone (or a new one), then `req.authorizations`, `req.auth` and the logout events; a promise only when the session is regenerated. */
function settleSession(
  rt: Runtime,
  req: Request,
  res: Response,
  data: FletAuthSessionData,
  all: Record<string, Authorization>,
  gone: readonly Gone[],
  touched: Readonly<Record<string, string>>,
): Promise<void> | undefined {
  if (gone.some((g) => g.reason === "ended") && Object.keys(all).length === 0) {
    // The session's sign-ins were ended elsewhere — a logout of this very session that a slower
    // request raced and wrote back, "sign out everywhere", back-channel logout: the session copy
    // is a leftover, so none of it survives (the app's keys included), as after a logout.
    return regenerateSession(req).then(() => publish(rt, req, res, data, all, gone));
  }
  if (gone.length > 0 || Object.keys(touched).length > 0) {
    const auths: Record<string, string> = { ...data.auths, ...touched };
    for (const { name } of gone) delete auths[name];
    setAuthData(req, { ...data, auths, current: currentProvider(data.current, Object.keys(auths)) });
  }
  publish(rt, req, res, data, all, gone);
  // After logout events, the route waits a turn: a listener's code after an `await` of something
  // settled (setting a header on `res`, say) still runs before it, as it does on the promise path.
  return gone.length === 0 ? undefined : DONE;
}

const DONE: Promise<void> = Promise.resolve();

/** Sets `req.authorizations` and `req.auth`, then notifies the logouts (listeners see req.auth without the ended sign-ins). */
function publish(rt: Runtime, req: Request, res: Response, data: FletAuthSessionData, all: Record<string, Authorization>, gone: readonly Gone[]): void {
  // The session's current provider is almost always still signed in: no key list for it then.
  const named = data.current;
  showSignIns(req, all, named !== undefined && Object.hasOwn(all, named) ? named : currentProvider(named, Object.keys(all)));
  for (const { name, reason, opened } of gone) {
    if (reason === undefined || opened === undefined) continue;
    const auth = buildAuthorization(rt, req, res, opened.record, opened.token);
    notify(rt.emitter, rt.config.logger, "logout", { name: "logout", provider: name, auth, reason, req, res });
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
