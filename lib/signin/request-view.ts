/**
 * Where a request keeps what it shows of its sign-ins, `req.auth` and `req.authorizations`.
 *
 * Express gives every request object its app's request prototype (`Object.setPrototypeOf`), and
 * in V8 every property then added to the request builds a new hidden class: each name added costs
 * thousands of instructions, and every later property access of that request misses its inline
 * cache (docs/performance.md, "Why a signed-in request costs what it costs"). So on an Express app
 * both names are accessors on the app's request prototype (middleware.ts), and a sign-in adds one
 * property to the request, the {@link VIEW} record below, instead of two. Requests whose prototype
 * does not carry the accessors (another fletAuth() instance's, or no Express app) have both names
 * as own data properties, as they always had.
 */
import type { Request } from "express";
import type { Authorization } from "./authorization.js";

/** `req.auth` and `req.authorizations` of one request. */
interface View {
  readonly authorizations: Readonly<Record<string, Authorization>>;
  readonly auth: Authorization | undefined;
}

const VIEW = Symbol("flet-auth.view");
type Carrier = Request & { [VIEW]?: View };

/** A request without sign-ins shows this (frozen, shared: nothing can be added to it). */
export const NO_AUTHORIZATIONS: Readonly<Record<string, Authorization>> = Object.freeze({});

/**
 * Sets what `req` shows: `authorizations` (frozen by the caller) and `auth`, one of them or
 * undefined. Own data properties (app code assigned the names, or the prototype is not ours) are
 * written in place; otherwise the accessors read the view.
 */
export function showSignIns(req: Request, authorizations: Readonly<Record<string, Authorization>>, auth: Authorization | undefined): void {
  if (Object.hasOwn(req, "authorizations") || Object.hasOwn(req, "auth")) {
    req.authorizations = authorizations;
    req.auth = auth;
    return;
  }
  (req as Carrier)[VIEW] = { authorizations, auth };
}

/** Whether `req` shows sign-ins through a view (cleared by {@link clearView} when flet-auth starts on the request again). */
export function hasView(req: Request): boolean {
  return Object.hasOwn(req, VIEW);
}

/** Drops the view: `req` shows no sign-ins until {@link showSignIns}. */
export function clearView(req: Request): void {
  (req as Carrier)[VIEW] = undefined;
}

/**
 * The accessors for the app's request prototype: they read the request's view. An assignment by
 * app code (`req.auth = …`) makes an own data property, as it would with a plain writable
 * property on the prototype, and that own property wins from then on for that request.
 */
export function viewAccessors(): PropertyDescriptorMap {
  const assign = (name: "auth" | "authorizations") =>
    function (this: object, value: unknown): void {
      Object.defineProperty(this, name, { value, writable: true, configurable: true, enumerable: true });
    };
  return {
    authorizations: {
      get(this: Carrier): Readonly<Record<string, Authorization>> {
        return this[VIEW]?.authorizations ?? NO_AUTHORIZATIONS;
      },
      set: assign("authorizations"),
      configurable: true,
      enumerable: false,
    },
    auth: {
      get(this: Carrier): Authorization | undefined {
        return this[VIEW]?.auth;
      },
      set: assign("auth"),
      configurable: true,
      enumerable: false,
    },
  };
}
