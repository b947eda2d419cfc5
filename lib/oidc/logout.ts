/**
 * Signing out at the provider too: RFC 7009 token revocation, OpenID Connect RP-Initiated Logout
 * 1.0 (the browser goes to the provider's `end_session_endpoint`, then comes back with `state`),
 * and Back-Channel Logout 1.0 (the provider tells us a session ended; matching sign-ins read as
 * signed out on their next request, on every instance sharing the store).
 */
import { createHash } from "node:crypto";
import type { Request, Response } from "express";
import { decodeJwt, jwtVerify } from "jose";
import { issuerFor, keySetFor } from "./id-token.js";
import { safeReturnTo } from "../flow/return-to.js";
import { addQueryParams } from "../flow/query.js";
import type { OAuthProvider } from "../providers/provider.js";
import type { Runtime } from "../runtime.js";
import { authData, saveSession, setAuthData } from "../session/session.js";
import type { SignInRecord } from "../signin/records.js";
import { storeKeys } from "../store/store.js";
import { withDeadline } from "../util/deadline.js";
import { isRecord } from "../util/records.js";

/**
 * RFC 7009: revokes the sign-in's refresh token, then its access token, at the provider's
 * revocation endpoint, within `timeoutMs`. Never rejects: the local sign-out already happened,
 * and a failure is only logged.
 */
export async function revokeTokens(rt: Runtime, provider: OAuthProvider, record: SignInRecord): Promise<void> {
  const endpoint = provider.revocationEndpoint;
  const revoke = rt.config.http.revoke?.bind(rt.config.http);
  if (endpoint === undefined || revoke === undefined) return;
  let token: { refresh_token?: unknown; access_token?: unknown };
  try {
    token = JSON.parse(record.token) as typeof token;
  } catch {
    return;
  }
  const work = (async () => {
    if (typeof token.refresh_token === "string") await revoke(provider, endpoint, token.refresh_token, "refresh_token");
    if (typeof token.access_token === "string" && token.access_token !== "") await revoke(provider, endpoint, token.access_token, "access_token");
  })();
  try {
    await withDeadline(work, rt.config.timeoutMs, () => new Error(`no answer within ${rt.config.timeoutMs} ms`));
  } catch (err) {
    rt.config.logger.warn(`flet-auth: revoking the tokens of provider "${record.provider}" at sign-out failed; the local sign-out stands.`, err instanceof Error ? err.message : err);
  }
}

/** Where the provider sends the browser back after RP-initiated logout: `{assetsPath}/logged-out` on the redirect URL's origin. */
export function postLogoutRedirectUri(rt: Runtime, provider: OAuthProvider): string {
  return new URL(rt.config.postLogoutPath, provider.redirectUrl).toString();
}

/**
 * After the local sign-out: sends the browser to the provider's end-session endpoint with
 * `id_token_hint`, `post_logout_redirect_uri` and a fresh `state` (kept in the new session,
 * checked on return). False when the provider has no end-session endpoint or there is no ID token.
 */
export async function redirectToEndSession(rt: Runtime, req: Request, res: Response, provider: OAuthProvider, record: SignInRecord, returnTo: string | undefined): Promise<boolean> {
  if (provider.endSessionEndpoint === undefined || record.idToken === undefined || res.headersSent) return false;
  const state = Buffer.from(rt.config.randomBytes(32)).toString("base64url");
  const data = authData(req);
  setAuthData(req, {
    ...data,
    logout: { state: digest(state), returnTo: safeReturnTo(returnTo) ?? rt.config.defaultReturnTo, expiresAt: rt.config.clock() + rt.config.loginTimeoutMs },
  });
  await saveSession(req);
  const url = addQueryParams(provider.endSessionEndpoint, [
    ["id_token_hint", record.idToken],
    ["post_logout_redirect_uri", postLogoutRedirectUri(rt, provider)],
    ["state", state],
    ["client_id", provider.clientId],
  ]);
  res.set("Cache-Control", "no-store");
  res.set("Referrer-Policy", "no-referrer");
  res.redirect(302, url);
  return true;
}

/** `GET {postLogoutPath}?state=…`: back from the provider; the stored returnTo only for the matching state. */
export async function handlePostLogout(rt: Runtime, req: Request, res: Response): Promise<void> {
  const data = authData(req);
  const pending = data.logout;
  const state = (req.query as Record<string, unknown>)["state"];
  const matches = pending !== undefined && typeof state === "string" && pending.state === digest(state) && pending.expiresAt > rt.config.clock();
  if (pending !== undefined) {
    const { logout: _spent, ...rest } = data;
    void _spent;
    setAuthData(req, rest);
    await saveSession(req);
  }
  res.set("Cache-Control", "no-store");
  res.redirect(303, matches ? pending.returnTo : rt.config.defaultReturnTo);
}

function digest(value: string): string {
  return createHash("sha256").update(value).digest("base64url");
}

const BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout";
const MAX_BODY = 16 * 1024;

/**
 * `POST {backchannelLogoutPath}` (Back-Channel Logout 1.0 §2.5–2.8): the provider's
 * `logout_token`, verified — signature, `iss`, `aud`, `iat`, `jti` not replayed, the `events`
 * claim, `sid` and/or `sub`, no `nonce` — ends the matching sign-ins in the store. The body is
 * parsed here; the app mounts no body parser for it.
 */
export async function handleBackchannelLogout(rt: Runtime, req: Request, res: Response): Promise<void> {
  res.set("Cache-Control", "no-store");
  const refuse = (description: string): void => void res.status(400).json({ error: "invalid_request", error_description: description });
  const token = await logoutTokenOf(req);
  if (token === undefined) return refuse("logout_token is missing");
  let issuer: unknown;
  try {
    issuer = decodeJwt(token).iss;
  } catch {
    return refuse("logout_token is not a JWT");
  }
  // A templated issuer (Azure's multi-tenant `{tenantid}`) is filled from the token's `tid`.
  const expected = (p: OAuthProvider): string | undefined => {
    try {
      return p.issuer === undefined ? undefined : issuerFor(p.issuer, token);
    } catch {
      return undefined;
    }
  };
  // Several providers may share an issuer (one per client): the token's audience picks the one.
  let audiences: unknown;
  try {
    audiences = decodeJwt(token).aud;
  } catch {
    audiences = undefined;
  }
  const audienceList = Array.isArray(audiences) ? audiences : [audiences];
  const entry = [...rt.config.providers].find(([, p]) => p.jwksUri !== undefined && expected(p) === issuer && audienceList.includes(p.clientId));
  if (entry === undefined) return refuse("logout_token comes from no configured issuer and client");
  const [name, provider] = entry;
  let claims: Record<string, unknown>;
  try {
    const jwksUri = provider.jwksUri as string;
    let keys = rt.keySets.get(jwksUri);
    if (keys === undefined) {
      keys = keySetFor(jwksUri, rt.config.timeoutMs);
      rt.keySets.set(jwksUri, keys);
    }
    ({ payload: claims } = await jwtVerify(token, keys, {
      issuer: issuer as string,
      audience: provider.clientId,
      algorithms: [...provider.idTokenSigningAlgorithms],
      clockTolerance: 30,
      currentDate: new Date(rt.config.clock()),
      maxTokenAge: 300,
      requiredClaims: ["iss", "aud", "iat", "jti"],
    }));
  } catch {
    return refuse("logout_token does not verify");
  }
  const events = claims["events"];
  if (!isRecord(events) || !isRecord(events[BACKCHANNEL_EVENT])) return refuse("logout_token has no back-channel logout event");
  if (claims["nonce"] !== undefined) return refuse("logout_token must not carry a nonce");
  const sid = typeof claims["sid"] === "string" ? claims["sid"] : undefined;
  const sub = typeof claims["sub"] === "string" ? claims["sub"] : undefined;
  if (sid === undefined && sub === undefined) return refuse("logout_token names neither sid nor sub");
  const jti = claims["jti"] as string;
  const ttl = 600_000;
  if (!(await rt.config.store.set(storeKeys.logoutTokenId(issuer as string, jti), "1", ttl, { ifAbsent: true }))) {
    return refuse("logout_token was already used");
  }
  const now = String(rt.config.clock());
  const keep = Math.min(rt.config.absoluteTimeoutMs, 400 * 86_400_000);
  if (sid !== undefined) await rt.config.store.set(storeKeys.providerSessionEnded(name, sid), now, keep);
  // Stryker disable next-line ConditionalExpression: equivalent, a token without sid has a sub (refused above otherwise); the test narrows the type.
  else if (sub !== undefined) await rt.config.store.set(storeKeys.subjectEndedBefore(name, sub), now, keep);
  res.status(200).end();
}

/** The `logout_token` form field: from a body parser the app mounted, else read here (bounded). */
async function logoutTokenOf(req: Request): Promise<string | undefined> {
  const parsed: unknown = req.body;
  if (isRecord(parsed) && typeof parsed["logout_token"] === "string") return parsed["logout_token"];
  if (!/^application\/x-www-form-urlencoded\b/i.test(req.get("content-type") ?? "")) return undefined;
  // Stryker disable next-line ConditionalExpression: equivalent, an ended stream yields no chunks; the check saves the loop.
  if (req.readableEnded) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > MAX_BODY) return undefined;
    chunks.push(buffer);
  }
  const token = new URLSearchParams(Buffer.concat(chunks).toString("utf8")).get("logout_token");
  return token === null || token === "" ? undefined : token;
}
