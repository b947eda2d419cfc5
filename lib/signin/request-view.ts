/**
 * Where a request keeps what it shows of its sign-ins, `req.auth` and `req.authorizations`.
 *
 * Express gives every request object its app's request prototype (`Object.setPrototypeOf`), and
 * in V8 every property then added to the request builds a new hidden class of its own (a map and a
 * copy of all the request's property descriptors, about 1 KB, thousands of instructions, and more
 * garbage to collect: docs/performance.md). So on an Express app both names are accessors on the
 * app's request prototype (middleware.ts) that read a view kept in the response's `res.locals`,
 * Express's request-scoped object (null-prototype, so a key added to it builds no hidden class),
 * under a symbol: invisible to `Object.keys`, `for...in` and JSON, so templates and app code
 * reading `res.locals` never see it. Requests whose prototype does not carry the accessors
 * (another fletAuth() instance's, or no Express app) have both names as own data properties, as
 * they always had.
 */
import type { Request } from "express";
import type { Authorization } from "./authorization.js";

/** `req.auth` and `req.authorizations` of one request. */
interface View {
  readonly authorizations: Readonly<Record<string, Authorization>>;
  readonly auth: Authorization | undefined;
}

const VIEW = Symbol("flet-auth.view");
type Holder = { [VIEW]?: View | undefined };

/** Where `req`'s view lives: Express's `res.locals`, or the request itself when there is none (an app that set it to something else). */
function holder(req: Request): Holder {
  const locals: unknown = req.res?.locals;
  return typeof locals === "object" && locals !== null ? (locals as Holder) : (req as Holder);
}

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
  holder(req)[VIEW] = { authorizations, auth };
}

/** Whether `req` shows sign-ins through a view (cleared by {@link clearView} when flet-auth starts on the request again). */
export function hasView(req: Request): boolean {
  return holder(req)[VIEW] !== undefined;
}

/** Drops the view: `req` shows no sign-ins until {@link showSignIns}. */
export function clearView(req: Request): void {
  holder(req)[VIEW] = undefined;
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
      get(this: Request): Readonly<Record<string, Authorization>> {
        return holder(this)[VIEW]?.authorizations ?? NO_AUTHORIZATIONS;
      },
      set: assign("authorizations"),
      configurable: true,
      enumerable: false,
    },
    auth: {
      get(this: Request): Authorization | undefined {
        return holder(this)[VIEW]?.auth;
      },
      set: assign("auth"),
      configurable: true,
      enumerable: false,
    },
  };
}
