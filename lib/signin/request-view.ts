/**
 * How a request shows its sign-ins: `req.authorizations` and `req.auth`, the current one of them,
 * as own properties of the request object.
 *
 * Each used to cost V8 a new hidden class on every signed-in request (Express switches the
 * request's prototype, which leaves the object on a map of its own; now that flet-auth moves the
 * request to hash-table properties first, util/hashed-properties.ts, each is a hash insert), so
 * cheaper places were tried: the response's `res.locals`, then accessors on the app's request
 * prototype over a per-request view.
 * Review found both wrong (test/integration/request-view.test.ts pins every case): only an own
 * property stays with the request wherever it goes. Express points a request at each app's
 * prototype it enters, and does not point it back when an app is mounted through a Router or
 * called as plain middleware (vhost), so a sign-in kept anywhere but on the request vanished
 * there; an app's `delete req.auth` stopped signing the user out; copies and proxies of `req`
 * saw a signed-out request.
 */
import type { Request } from "express";
import type { Authorization } from "./authorization.js";

/** Sets `req.authorizations` to `all` (frozen) and `req.auth` to its entry `current`. */
export function showSignIns(req: Request, all: Record<string, Authorization>, current: string | undefined): void {
  req.authorizations = Object.freeze(all);
  req.auth = current === undefined ? undefined : all[current];
}
