/**
 * How a request shows its sign-ins: `req.authorizations` and `req.auth`, the current one of them.
 *
 * Every property added to a request object costs a new V8 hidden class (Express switches the
 * request's prototype, which leaves the object on a map of its own): about 1.3 KB of garbage and
 * thousands of instructions, on every signed-in request (docs/performance.md). So on a root app's
 * request prototype both are accessors: `req.authorizations` reads the request's view from a
 * WeakMap keyed by the request (gone with it), and `req.auth` the current sign-in that
 * {@link showSignIns} notes on it (a non-enumerable symbol: not listed, not copied by spreads,
 * not serialised). No property is added to the request.
 *
 * The view belongs to the request itself, never to `res.locals` or the prototype: it is that
 * request's alone, and it survives Express switching the prototype back when a sub-app hands the
 * request on (test/integration/request-view.test.ts pins both). A sub-app's prototype (and a root
 * app mounted below another after its first request) gets own properties instead, as they always
 * were: the parent's prototype, which the request returns to, has no accessors. An app's own
 * assignment to either wins on that request, as before.
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
 * accessors in place the first goes to the view and the second stores nothing; without them (a
 * sub-app's prototype, an app's own properties) both are own properties, as they always were.
 */
export function showSignIns(req: Request, all: Record<string, Authorization>, current: string | undefined): void {
  const auth = current === undefined ? undefined : all[current];
  if (auth !== undefined) Object.defineProperty(all, CURRENT, { value: auth });
  req.authorizations = Object.freeze(all);
  req.auth = auth;
}

/** Each request's `req.authorizations` where the accessors are in place (keyed weakly: a view lives as long as its request). */
const views = new WeakMap<object, Readonly<Record<string, Authorization>>>();

/**
 * The `authorizations` and `auth` accessors for `holder`, a root app's request prototype, with
 * `empty` for a request flet-auth has not shown anything yet. A setter keeps the value in the view
 * (`auth`: stores nothing when given the sign-in the view already shows, flet-auth's own write)
 * unless `holder` has since been mounted below another app: a request then moves back to the
 * parent's prototype, which has no accessors, and only an own property keeps the value there.
 */
export function requestViewAccessors(holder: object, empty: Readonly<Record<string, Authorization>>): PropertyDescriptorMap {
  const own = (req: Request, key: "authorizations" | "auth", value: unknown): void => {
    Object.defineProperty(req, key, { value, writable: true, configurable: true, enumerable: true });
  };
  return {
    authorizations: {
      configurable: true,
      enumerable: false,
      get(this: Request): Readonly<Record<string, Authorization>> {
        return views.get(this) ?? empty;
      },
      set(this: Request, value: Readonly<Record<string, Authorization>>): void {
        if (isRootRequest(holder)) views.set(this, value);
        else own(this, "authorizations", value);
      },
    },
    auth: {
      configurable: true,
      enumerable: false,
      get(this: Request): Authorization | undefined {
        return currentOf(this.authorizations);
      },
      set(this: Request, value: unknown): void {
        if (value !== currentOf(this.authorizations) || !isRootRequest(holder)) own(this, "auth", value);
      },
    },
  };
}

/** Whether an app's request prototype belongs to a root app: its own prototype is no other app's request (Express re-parents a mounted app's). */
export function isRootRequest(proto: object): boolean {
  const parent: unknown = Object.getPrototypeOf(proto);
  return typeof parent !== "object" || parent === null || !Object.hasOwn(parent, "app");
}
