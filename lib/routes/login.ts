import type { Request, Response } from "express";
import { checkOrigin, requestOrigin, sameRequestOn } from "../flow/origin.js";
import type { Runtime } from "../runtime.js";
import { noStore, queryFlag, queryParam } from "./respond.js";

/**
 * `GET <loginPath>/:provider?returnTo=/x&remember=1&popup=1`. A login started on another name of
 * this machine than the provider's `redirectUrl` (`127.0.0.1` for `localhost`, same scheme and
 * port) first moves the browser there, so the session cookie belongs to the host the provider
 * sends it back to.
 */
export async function handleLoginRoute(rt: Runtime, req: Request, res: Response, name: string): Promise<void> {
  const provider = rt.config.providers.get(name);
  if (provider !== undefined) {
    const check = checkOrigin(requestOrigin(req.protocol, req.get("host")), provider.redirectUrl);
    if (check.kind === "loopbackAlias") {
      noStore(res);
      return res.redirect(302, sameRequestOn(check.redirectOrigin, req.originalUrl));
    }
  }
  const returnTo = queryParam(req, "returnTo");
  await req.login(name, {
    returnTo,
    remember: queryFlag(req, "remember"),
    // The browser helper's popup wants the complete page, which tells the opener and closes.
    ...(queryFlag(req, "popup") ? { redirectToPage: false } : {}),
  });
}
