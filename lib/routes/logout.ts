import type { NextFunction, Request, Response } from "express";
import { FletAuthError } from "../errors.js";
import { safeReturnTo } from "../flow/return-to.js";
import type { Runtime } from "../runtime.js";
import { renderLogoutConfirm } from "../pages/logout-confirm.js";
import { noStore, queryFlag, queryParam } from "./respond.js";

/**
 * `POST <logoutPath>` and `GET <logoutPath>` (`?provider=`, `?returnTo=`, `?everywhere=1`). A
 * cross-site request cannot sign users out (checklist 25): browsers label it with
 * `Sec-Fetch-Site: cross-site`, and a POST's Origin must be this host. A GET changes state only
 * when it provably comes from this site; otherwise it gets a page with a sign-out button.
 */
export async function handleLogoutRoute(rt: Runtime, req: Request, res: Response, next: NextFunction): Promise<void> {
  if (isCrossSite(req)) {
    return next(new FletAuthError("cross_site_request", "Sign-out must come from this site."));
  }
  if (req.method === "GET" && !isSameOriginGet(req)) return confirm(rt, req, res);
  const wantsJson = req.accepts(["html", "json"]) === "json";
  const body = req.body as Record<string, unknown> | undefined;
  const fromBody = typeof body?.["returnTo"] === "string" ? body["returnTo"] : undefined;
  const returnTo = queryParam(req, "returnTo") ?? fromBody;
  await req.logout(queryParam(req, "provider"), {
    ...(queryFlag(req, "everywhere") ? { everywhere: true } : {}),
    // A script's fetch() cannot follow the provider's pages: JSON callers sign out locally.
    ...(wantsJson ? { idpLogout: false } : {}),
    returnTo,
  });
  // Redirected to the provider's end-session endpoint (RP-initiated logout).
  if (res.headersSent) return;
  noStore(res);
  if (wantsJson) {
    res.status(200).json({ signedIn: req.auth !== undefined });
    return;
  }
  res.redirect(303, safeReturnTo(returnTo) ?? rt.config.defaultReturnTo);
}

function isCrossSite(req: Request): boolean {
  // Fetch Metadata is set by the browser and cannot be forged by a page. "same-origin" wins
  // even with `Origin: null`, which Chromium sends for a same-origin form POST from a page
  // served with `Referrer-Policy: no-referrer` (helmet's default, and ours).
  const site = req.get("sec-fetch-site");
  if (site === "same-origin" || site === "none") return false;
  if (site === "cross-site" || site === "same-site") return true;
  const origin = req.get("origin");
  if (req.method !== "POST" || origin === undefined) return false;
  try {
    return new URL(origin).host !== req.get("host");
  } catch {
    // Not a URL, including the opaque `Origin: null` (a sandboxed frame, a data: URL).
    return true;
  }
}

/**
 * A GET that provably comes from this site: Fetch Metadata `same-origin` or `none` (typed in, a
 * bookmark), or — for browsers without it — an `Origin` or `Referer` on this host.
 */
function isSameOriginGet(req: Request): boolean {
  const site = req.get("sec-fetch-site");
  if (site === "same-origin" || site === "none") return true;
  for (const header of ["origin", "referer"]) {
    const value = req.get(header);
    if (value === undefined || value === "null") continue;
    try {
      return new URL(value).host === req.get("host");
    } catch {
      return false;
    }
  }
  return false;
}

/** The confirmation page: the same URL (query kept), as a POST behind a button. */
function confirm(rt: Runtime, req: Request, res: Response): void {
  const origins = [...new Set([...rt.config.providers.values()].flatMap((p) => (p.endSessionEndpoint ? [new URL(p.endSessionEndpoint).origin] : [])))];
  const page = renderLogoutConfirm(req.originalUrl, Buffer.from(rt.config.randomBytes(16)).toString("base64"), origins);
  noStore(res);
  res.set("Content-Security-Policy", page.csp);
  res.status(200).type("html").send(page.html);
}
