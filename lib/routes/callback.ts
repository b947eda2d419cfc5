import type { NextFunction, Request, Response } from "express";
import type { CompletePageTemplate } from "../pages/complete-page.js";
import { FletAuthError } from "../errors.js";
import { loginEvent, notify } from "../events.js";
import { safeReturnTo } from "../flow/return-to.js";
import { stateKey, takeTransaction, type Transaction, type TransactionTable } from "../flow/transactions.js";
import type { Runtime } from "../runtime.js";
import { authData, saveSession, setAuthData } from "../session/session.js";
import { completeSignIn } from "../signin/commit.js";
import { OAuthToken } from "../oauth/token.js";
import { storeKeys } from "../store/store.js";
import { verifyIdToken } from "../oidc/id-token.js";
import { verifiesIdTokens } from "../providers/provider.js";
import { noStore, queryParam, sendCompletePage } from "./respond.js";

/**
 * The redirect endpoint (RFC 6749 §4.1.2). Every failure becomes a `login` event with an error
 * and a clear page with a 4xx/5xx status — never a crash, never "signed in".
 */
export async function handleCallback(rt: Runtime, req: Request, res: Response, next: NextFunction, path: string): Promise<void> {
  const now = rt.config.clock();
  const data = authData(req);
  const pending = data.tx;
  const state = queryParam(req, "state");
  // Another fletAuth() instance of this app started this login (same callback path): let it answer.
  const owner = state === undefined ? undefined : pending?.[stateKey(state)]?.provider;
  if (owner !== undefined && !rt.config.providers.has(owner)) return next();
  const taken = takeTransaction(pending, state, now, rt.config.loginTimeoutMs);
  // A stray callback on a session with no pending login writes nothing (no session for strangers).
  if (pending !== undefined) setAuthData(req, { ...data, tx: taken.rest });
  if (!taken.ok) {
    if (pending !== undefined) await saveSession(req);
    return fail(rt, req, res, taken.tx, new FletAuthError(taken.reason, notTakenMessage(taken.reason, pending)));
  }
  const tx = taken.tx;
  // Concurrent callbacks with one state each read their own copy of the session, so the session
  // alone cannot make the state single-use: claim it here, before the first await (checklist 10),
  // and in the shared store, so two instances behind a balancer cannot both exchange one code.
  // Stryker disable next-line StringLiteral: unreachable, a transaction is only taken for a non-empty state.
  const claimKey = stateKey(state ?? "");
  const used = (): FletAuthError => new FletAuthError("invalid_state", "This sign-in link was already used; please start again.");
  if (!rt.claimedStates.claim(claimKey, now + rt.config.loginTimeoutMs, now)) return fail(rt, req, res, tx, used());
  if (!(await rt.config.store.set(storeKeys.claimedState(claimKey), "1", rt.config.loginTimeoutMs, { ifAbsent: true }))) return fail(rt, req, res, tx, used());
  const provider = rt.config.providers.get(tx.provider);
  // Mix-up defence (RFC 9700 §4.4): the callback path must belong to the provider the state names.
  if (provider === undefined || provider.callbackPath !== path) {
    await saveSession(req);
    return fail(rt, req, res, tx, new FletAuthError("invalid_state", "This sign-in answer came back on another provider's callback."));
  }
  // Checklist 10: the transaction is consumed in the store before the code is exchanged.
  await saveSession(req);
  // RFC 9207 §2.4: an `iss` that is not this provider's means a mix-up; so does none, when required.
  const iss = queryParam(req, "iss");
  // (A templated issuer — Azure's multi-tenant `{tenantid}` — is only checked in the ID token.)
  if (provider.issuer !== undefined && !provider.issuer.includes("{tenantid}") && (iss !== undefined ? iss !== provider.issuer : provider.requireIssuer)) {
    return fail(rt, req, res, tx, new FletAuthError("issuer_mismatch", "This sign-in answer did not come from the expected provider."));
  }

  const rawError = queryParam(req, "error");
  if (rawError !== undefined) {
    // RFC 6749 §4.1.2.1: any `error` ends the flow, even an empty one (which must not read as success).
    const error = rawError || "invalid_request";
    const description = queryParam(req, "error_description") || undefined;
    const status = error === "access_denied" ? 403 : error === "temporarily_unavailable" ? 503 : error === "server_error" ? 502 : 400;
    return fail(rt, req, res, tx, new FletAuthError("provider_error", description ?? error, {
      status,
      oauthError: error,
      description,
    }));
  }
  const code = queryParam(req, "code");
  if (code === undefined || code === "") {
    return fail(rt, req, res, tx, new FletAuthError("missing_code", "The provider sent neither a code nor an error."));
  }

  try {
    const body = await rt.config.http.exchangeCode(provider, { code, codeVerifier: tx.verifier });
    const token = OAuthToken.fromResponse(body, rt.config.clock());
    // OpenID Connect Core §3.1.3.7: the ID token is verified before anything is stored.
    // Stryker disable next-line StringLiteral: equivalent, the fallback (a login started before the provider verified ID tokens) only has to match no token's nonce.
    const nonce = tx.nonce ?? "";
    const oidc = verifiesIdTokens(provider, tx.scope)
      ? {
          idToken: body["id_token"] as string,
          claims: await verifyIdToken(rt.keySets, provider, body["id_token"], { nonce, nowMs: rt.config.clock(), timeoutMs: rt.config.timeoutMs }),
        }
      : undefined;
    await completeSignIn(rt, req, res, {
      oidc,
      name: tx.provider,
      provider,
      token,
      fetchUser: tx.fetchUser,
      fetchGroups: tx.fetchGroups,
      scope: tx.scope,
      remember: tx.remember,
      source: "callback",
    });
  } catch (err) {
    return fail(rt, req, res, tx, err instanceof FletAuthError ? err : new FletAuthError("token_exchange_failed", "Signing in failed.", { cause: err, status: 500 }));
  }
  // Checked when stored and again here (checklist 13): the store may have been edited.
  const returnTo = safeReturnTo(tx.returnTo) ?? rt.config.defaultReturnTo;
  if (tx.redirectToPage) {
    noStore(res);
    // The redirect also drops code and state from the address bar (checklist 16).
    return res.redirect(303, returnTo);
  }
  sendCompletePage(rt, res, template(rt, tx), { provider: tx.provider, returnTo }, 200);
}

function template(rt: Runtime, tx: Transaction): CompletePageTemplate | undefined {
  return rt.pages.take(tx.completePageRef) ?? tx.completePageHtml ?? rt.config.completePageHtml;
}

function fail(rt: Runtime, req: Request, res: Response, tx: Transaction | undefined, err: FletAuthError): void {
  const provider = tx?.provider ?? "";
  const event = loginEvent({ provider, source: "callback", req, res }, { error: err });
  notify(rt.emitter, rt.config.logger, "login", event);
  const { error, errorDescription } = event;
  const returnTo = safeReturnTo(tx?.returnTo) ?? rt.config.defaultReturnTo;
  const page = tx ? template(rt, tx) : rt.config.completePageHtml;
  sendCompletePage(rt, res, page, { provider, error, errorDescription, returnTo }, err.status);
}

/**
 * Why the callback found no usable pending login, in words that point at the cause: no pending
 * login at all in this browser for this host usually means the login started on another host
 * name (localhost versus 127.0.0.1: the session cookie belongs to the other one), or the
 * session cookie was not kept (SameSite, http versus https, cookie path).
 */
function notTakenMessage(reason: "invalid_state" | "state_expired", pending: TransactionTable | undefined): string {
  if (reason === "state_expired") return "The sign-in took too long; please start again.";
  if (pending === undefined || Object.keys(pending).length === 0) {
    return "No sign-in is pending in this browser for this host name: start the sign-in again on this same address (the session cookie belongs to the host name where the sign-in started).";
  }
  return "This sign-in link is invalid or was already used; please start again.";
}
