import type { Request, Response } from "express";
import type { Authorization } from "./authorization.js";
import type { CompletePageTemplate } from "../pages/complete-page.js";
import { completePage, scopeList } from "../config.js";
import { FletAuthError } from "../errors.js";
import { verifiesIdTokens } from "../providers/provider.js";
import { notify } from "../events.js";
import { authorizationUrl } from "../flow/authorize-url.js";
import { createPkce, createState } from "../flow/state.js";
import { safeReturnTo } from "../flow/return-to.js";
import { mergeScopes } from "../flow/scopes.js";
import { checkOrigin, originWarning, requestOrigin } from "../flow/origin.js";
import { addTransaction, type Transaction } from "../flow/transactions.js";
import { setRequestAuth } from "./request-auth.js";
import type { Runtime } from "../runtime.js";
import { authData, regenerateSession, saveSession, setAuthData } from "../session/session.js";
import { oneOffBinding, refreshedIdentity, refreshToFresh } from "../refresh/engine.js";
import { completeSignIn } from "./commit.js";
import { currentProvider } from "./current.js";
import { endSignIn, endUser } from "./lifetime.js";
import type { SignInRecord } from "./records.js";
import { loadSignIns, removeSignIn } from "./stored.js";
import { redirectToEndSession, revokeTokens } from "../oidc/logout.js";
import { revokeSeries } from "../remember-me/series.js";
import { OAuthToken } from "../oauth/token.js";

/**
 * Options of `req.login(provider, options)`: Flet's `page.login` arguments, camelCase. The login
 * route `GET /login/:provider` takes `returnTo`, `remember` and `popup` from its query.
 *
 * @example
 * app.get("/signin", (req, res, next) => {
 *   req.login("github", { scope: ["public_repo"], returnTo: "/repos", remember: true }).catch(next);
 * });
 */
export interface LoginOptions {
  /** @default the fletAuth option (true) */
  readonly fetchUser?: boolean;
  /** @default the fletAuth option (false) */
  readonly fetchGroups?: boolean;
  /** Extra scopes for this login; the array is not modified. */
  readonly scope?: readonly string[];
  /** A token JSON (`auth.token.toJson()`, decrypted) to sign in with, without any redirect. */
  readonly savedToken?: string;
  /** The complete page for this login. */
  readonly completePageHtml?: CompletePageTemplate;
  /** Redirect back to `returnTo` after the callback instead of answering the complete page. */
  readonly redirectToPage?: boolean;
  /** How the authorize URL reaches the browser. @default a 302 redirect of this response */
  readonly onOpenAuthorizationUrl?: (url: string) => void | Promise<void>;
  /** Where to go after sign-in: a relative path (anything else falls back to the default). */
  readonly returnTo?: string;
  /** Keep the token in the remember-me cookie (needs the `rememberMe` option). */
  readonly remember?: boolean;
}

/** `req.login` options with a saved token: resolves to the restored authorization. */
export interface SavedTokenLoginOptions extends LoginOptions {
  readonly savedToken: string;
}

const LOGIN_OPTION_KEYS = new Set([
  "fetchUser", "fetchGroups", "scope", "savedToken", "completePageHtml", "redirectToPage",
  "onOpenAuthorizationUrl", "returnTo", "remember",
]);

/** `req.login` and `req.logout` of one fletAuth() instance. */
export interface RequestMethods {
  readonly login: Request["login"];
  readonly logout: Request["logout"];
}

/**
 * The instance's `req.login` and `req.logout`, made once: they read the request from `this` and
 * its response from `req.res` (Express sets both), so a request costs two property writes, not
 * two new closures.
 */
export function requestMethods(rt: Runtime): RequestMethods {
  function login(this: Request | undefined, name: string, options: LoginOptions = {}): Promise<Authorization | undefined> {
    if (this?.res === undefined) return Promise.reject(new TypeError("call login as a method of the request: req.login(provider, options)"));
    return startLogin(rt, this, this.res, name, options);
  }
  function logoutMethod(this: Request | undefined, name?: string, options: LogoutOptions = {}): Promise<void> {
    if (this?.res === undefined) return Promise.reject(new TypeError("call logout as a method of the request: req.logout(provider, options)"));
    return logout(rt, this, this.res, name, options);
  }
  return { login: login as Request["login"], logout: logoutMethod };
}

async function startLogin(rt: Runtime, req: Request, res: Response, name: string, options: LoginOptions): Promise<Authorization | undefined> {
  const provider = rt.config.providers.get(name);
  if (provider === undefined) {
    // The name is not echoed: it comes from the request path, and a handler that sends
    // err.message as HTML would reflect it. The configured names are safe.
    throw new FletAuthError("unknown_provider", `Unknown provider. Configured: ${[...rt.config.providers.keys()].join(", ")}.`);
  }
  checkLoginOptions(options);
  const fetchUser = options.fetchUser ?? rt.config.fetchUser;
  const fetchGroups = options.fetchGroups ?? rt.config.fetchGroups;
  const scope = mergeScopes([...(options.scope ?? []), ...rt.config.scope], provider, fetchUser, fetchGroups);
  const remember = options.remember === true && rt.rememberMe !== undefined;

  if (options.savedToken !== undefined) {
    let token = OAuthToken.fromJson(options.savedToken);
    let oidc: Awaited<ReturnType<typeof refreshedIdentity>>;
    if (token.isExpiring(rt.config.clock(), rt.config.refreshMarginMs)) {
      // A saved token's copies must reach the provider (its reuse detection): never shared.
      const refreshed = await refreshToFresh(rt, name, provider, token, oneOffBinding(rt));
      token = refreshed.token;
      oidc = await refreshedIdentity(rt, provider, scope, refreshed);
    }
    return completeSignIn(rt, req, res, { name, provider, token, fetchUser, fetchGroups, scope, remember, source: "savedToken", ...(oidc !== undefined ? { oidc } : {}) });
  }

  warnOnOtherOrigin(rt, req, name, provider.redirectUrl);
  const now = rt.config.clock();
  const state = createState(rt.config.randomBytes);
  const pkce = createPkce(rt.config.randomBytes);
  const nonce = verifiesIdTokens(provider, scope) ? createState(rt.config.randomBytes) : undefined;
  const template = options.completePageHtml;
  const tx: Transaction = {
    provider: name,
    verifier: pkce.verifier,
    ...(nonce !== undefined ? { nonce } : {}),
    createdAt: now,
    returnTo: safeReturnTo(options.returnTo),
    fetchUser,
    fetchGroups,
    scope,
    redirectToPage: options.redirectToPage ?? rt.config.redirectToPage,
    remember,
    ...(typeof template === "string" ? { completePageHtml: template } : {}),
    ...(typeof template === "function" ? { completePageRef: rt.pages.add(template, now) } : {}),
  };
  const data = authData(req);
  setAuthData(req, { ...data, tx: addTransaction(data.tx, state, tx, rt.config.loginTimeoutMs) });
  // Checklist 23: the transaction must be in the store before the browser leaves.
  await saveSession(req);
  const url = authorizationUrl(provider, { state, scope, codeChallenge: pkce.challenge, nonce });
  if (options.onOpenAuthorizationUrl) {
    await options.onOpenAuthorizationUrl(url);
  } else {
    res.set("Cache-Control", "no-store");
    res.set("Referrer-Policy", "no-referrer");
    res.redirect(302, url);
  }
  return undefined;
}

/**
 * A login that starts on another origin than the provider's `redirectUrl` cannot complete: the
 * browser comes back where this session's cookie is not sent. Said once per provider.
 */
function warnOnOtherOrigin(rt: Runtime, req: Request, name: string, redirectUrl: string): void {
  if (rt.warnedOrigins.has(name)) return;
  const check = checkOrigin(requestOrigin(req.protocol, req.get("host")), redirectUrl);
  if (check.kind === "same") return;
  rt.warnedOrigins.add(name);
  rt.config.logger.warn(originWarning(name, redirectUrl, check));
}

function checkLoginOptions(options: LoginOptions): void {
  if (typeof options !== "object" || options === null) throw new TypeError("req.login(provider, options): options must be an object");
  for (const key of Object.keys(options)) {
    if (!LOGIN_OPTION_KEYS.has(key)) throw new TypeError(`req.login: unknown option "${key}"`);
  }
  for (const key of ["fetchUser", "fetchGroups", "redirectToPage", "remember"] as const) {
    if (options[key] !== undefined && typeof options[key] !== "boolean") throw new TypeError(`req.login options.${key} must be true or false`);
  }
  if (options.returnTo !== undefined && typeof options.returnTo !== "string") {
    throw new TypeError('req.login options.returnTo must be a relative path such as "/account"');
  }
  scopeList("req.login options.scope", options.scope);
  completePage("req.login options.completePageHtml", options.completePageHtml);
  if (options.savedToken !== undefined && typeof options.savedToken !== "string") {
    throw new TypeError("req.login options.savedToken must be the token JSON string (auth.token.toJson(), decrypted)");
  }
  if (options.onOpenAuthorizationUrl !== undefined && typeof options.onOpenAuthorizationUrl !== "function") {
    throw new TypeError("req.login options.onOpenAuthorizationUrl must be a function (url) => void");
  }
}

/**
 * Options of `req.logout(provider?, options?)`. The logout route (`POST /logout`) takes
 * `everywhere` from its query.
 *
 * @example
 * app.post("/account/sign-out-everywhere", (req, res, next) => {
 *   req.logout(undefined, { everywhere: true }).then(() => res.redirect("/"), next);
 * });
 */
export interface LogoutOptions {
  /**
   * Also end this user's other sign-ins and revoke every remember-me series of theirs, on every
   * device ("sign out everywhere"). Needs the user (`fetchUser`); several instances need a shared
   * `store`.
   */
  readonly everywhere?: boolean;
  /**
   * Also sign out at the provider (OpenID Connect RP-Initiated Logout): after the local sign-out,
   * this request's response redirects to the provider's `end_session_endpoint`, which sends the
   * browser back to `returnTo`. Needs a provider with that endpoint and a verified ID token.
   * @default the fletAuth option `idpLogout` (false)
   */
  readonly idpLogout?: boolean;
  /** Where to end up after an RP-initiated logout: a relative path. @default the fletAuth option `defaultReturnTo` */
  readonly returnTo?: string;
}

const LOGOUT_OPTION_KEYS = new Set(["everywhere", "idpLogout", "returnTo"]);

/**
 * Signs out of one provider or all. Each ended sign-in is recorded in the store (a copy of the
 * session, or a request still running, cannot bring it back), its remember-me series revoked and
 * the cookie cleared. Signing out of everything regenerates the session (checklist 21).
 */
async function logout(rt: Runtime, req: Request, res: Response, name: string | undefined, options: LogoutOptions): Promise<void> {
  if (typeof options !== "object" || options === null) throw new TypeError("req.logout(provider, options): options must be an object such as { everywhere: true }");
  for (const key of Object.keys(options)) if (!LOGOUT_OPTION_KEYS.has(key)) throw new TypeError(`req.logout: unknown option "${key}"`);
  for (const key of ["everywhere", "idpLogout"] as const) {
    if (options[key] !== undefined && typeof options[key] !== "boolean") throw new TypeError(`req.logout options.${key} must be true or false`);
  }
  if (options.returnTo !== undefined && typeof options.returnTo !== "string") throw new TypeError('req.logout options.returnTo must be a relative path such as "/"');
  const before = { ...(req.authorizations ?? {}) };
  const data = authData(req);
  const auths = { ...data.auths };
  // Only this instance's providers (another fletAuth() instance keeps its own sign-ins), and own
  // keys only: a name from a request ("constructor", "__proto__") never reaches the prototype.
  const ours = (n: string): boolean => rt.config.providers.has(n) && Object.hasOwn(auths, n);
  const removed = name === undefined ? Object.keys(auths).filter(ours) : typeof name === "string" && ours(name) ? [name] : [];
  const now = rt.config.clock();
  const ended: SignInRecord[] = [];
  const stored = removed.length === 0 ? [] : await loadSignIns(rt, removed.map((n) => [n, auths[n] as string] as const));
  for (const { name: n, id, opened } of stored) {
    delete auths[n];
    if (opened === undefined) continue;
    ended.push(opened.record);
    await endSignIn(rt.config, id);
    await removeSignIn(rt, id);
    if (opened.record.series !== undefined) await revokeSeries(rt.config, opened.record.series);
    if (options.everywhere === true && opened.record.user !== undefined) await endUser(rt.config, n, opened.record.user.id, now);
  }
  const rest = Object.keys(auths);
  if (rt.rememberMe && rt.rememberMe.present(req)) {
    const remembered = await rt.rememberMe.read(req);
    if (name === undefined || rest.length === 0 || remembered === undefined || remembered.provider === name) {
      if (remembered !== undefined) await revokeSeries(rt.config, remembered.series);
      rt.rememberMe.clear(req, res);
    }
  }
  if (rest.length === 0) {
    // Nothing stored (a signed-out visitor): do not create a session just to empty it.
    if (req.session.fletAuth === undefined) return announce(rt, req, res, removed, before);
    // The old session is destroyed in the store and the browser moves to a fresh, empty one
    // (checklist 21), as passport's logout does.
    await regenerateSession(req);
  } else {
    setAuthData(req, { ...data, auths, current: currentProvider(data.current, rest) });
  }
  await saveSession(req);
  await announce(rt, req, res, removed, before);
  // At the provider, after the local sign-out is committed: revocation (bounded by timeoutMs; a
  // failure is only logged, the local sign-out stands), then the
  // browser to the end-session endpoint of the first sign-in that can use it.
  for (const record of ended) {
    const provider = rt.config.providers.get(record.provider);
    if (provider !== undefined) await revokeTokens(rt, provider, record);
  }
  if (options.idpLogout ?? rt.config.idpLogout) {
    for (const record of ended) {
      const provider = rt.config.providers.get(record.provider);
      if (provider !== undefined && (await redirectToEndSession(rt, req, res, provider, record, options.returnTo))) break;
    }
  }
}

async function announce(rt: Runtime, req: Request, res: Response, removed: readonly string[], before: Readonly<Record<string, Authorization>>): Promise<void> {
  await setRequestAuth(rt, req, res);
  for (const n of removed) {
    notify(rt.emitter, rt.config.logger, "logout", { name: "logout", provider: n, auth: before[n], reason: "logout", req, res });
  }
}
