/**
 * How a request shows its sign-ins: `req.authorizations`, an own property of the request set on
 * every signed-in request, and `req.auth`, the current one of them.
 *
 * Every property added to a request object costs a new V8 hidden class (Express switches the
 * request's prototype, which leaves the object on a map of its own): about 1 KB of garbage and
 * thousands of instructions, on every signed-in request (docs/performance.md). So on a root app's
 * request prototype `req.auth` is an accessor that reads the current sign-in from
 * `req.authorizations`, where {@link showSignIns} notes it (a non-enumerable symbol: not listed,
 * not copied by spreads, not serialised): one property per request instead of two.
 *
 * The view stays on the request itself, never in `res.locals` or the prototype: it is that
 * request's alone, and it survives Express switching the prototype back when a sub-app hands the
 * request on (test/integration/request-view.test.ts pins both). An app's own assignment to
 * `req.auth` still becomes an own property of that request and wins, as before.
 */
import type { Request } from "express";
import type { Authorization } from "./authorization.js";

/** Where {@link showSignIns} notes the current sign-in on the `req.authorizations` it sets. */
const CURRENT = Symbol("flet-auth.current");

type Shown = Readonly<Record<string, Authorization>> & { readonly [CURRENT]?: Authorization };

/** The current sign-in noted on `authorizations`; undefined for anything else (an app's own object, the empty default). */
function currentOf(authorizations: unknown): Authorization | undefined {
  return typeof authorizations === "object" && authorizations !== null ? (authorizations as Shown)[CURRENT] : undefined;
}

/**
 * Sets `req.authorizations` to `all` (frozen) and `req.auth` to its entry `current`. With the
 * accessor in place the second assignment stores nothing; without it (a sub-app's prototype, an
 * app's own `auth`), it is an own property as it always was.
 */
export function showSignIns(req: Request, all: Record<string, Authorization>, current: string | undefined): void {
  const auth = current === undefined ? undefined : all[current];
  if (auth !== undefined) Object.defineProperty(all, CURRENT, { value: auth });
  req.authorizations = Object.freeze(all);
  req.auth = auth;
}

/**
 * The `auth` accessor for `holder`, a root app's request prototype. Its setter stores nothing when
 * given the sign-in `req.authorizations` already shows (flet-auth's own write), unless `holder`
 * has since been mounted below another app: a request then moves back to the parent's prototype,
 * which has no accessor, and only an own property keeps `req.auth` there.
 */
export function authAccessor(holder: object): PropertyDescriptor {
  return {
    configurable: true,
    enumerable: false,
    get(this: Request): Authorization | undefined {
      return currentOf(this.authorizations);
    },
    set(this: Request, value: unknown): void {
      if (value === currentOf(this.authorizations) && isRootRequest(holder)) return;
      Object.defineProperty(this, "auth", { value, writable: true, configurable: true, enumerable: true });
    },
  };
}

/** Whether an app's request prototype belongs to a root app: its own prototype is no other app's request (Express re-parents a mounted app's). */
export function isRootRequest(proto: object): boolean {
  const parent: unknown = Object.getPrototypeOf(proto);
  return typeof parent !== "object" || parent === null || !Object.hasOwn(parent, "app");
}
