/**
 * useHashedProperties (lib/util/hashed-properties.ts): leaves no trace on the object, does not
 * throw on objects that refuse it, and — asking V8 itself (`%HasFastProperties`, allowed at run time for this file) — does
 * move Express's requests and responses to hash-table properties when flet-auth runs, which they
 * are not without it, already when flet-auth's session starts. That last check runs on the V8
 * the step was measured on (11, Node 20).
 */
import { randomUUID } from "node:crypto";
import { setFlagsFromString } from "node:v8";
import type { Express, Request, Response } from "express";
import request from "supertest";
import { describe, expect, it } from "vitest";
import { fletAuth, OAuthProvider } from "../../../lib/index.js";
import { useHashedProperties } from "../../../lib/util/hashed-properties.js";
import { EXPRESS, SECRET } from "../../helpers/apps.js";

// V8's own answer: natives syntax, allowed for functions compiled after the flag is set.
setFlagsFromString("--allow-natives-syntax");
const hasFastProperties = new Function("o", "return %HasFastProperties(o)") as (o: object) => boolean;
const hashed = (o: object): boolean => !hasFastProperties(o);
const V8_MEASURED = process.versions.v8.startsWith("11.");

interface Probe {
  readonly req: boolean;
  readonly res: boolean;
  /** The same when flet-auth's session made the visitor's session id: before it adds its properties. */
  readonly atSession?: { readonly req: boolean; readonly res: boolean };
}

/** Whether `req` and `res` are in hash-table mode in a route after the middleware, and when the session starts (signed out: no provider call). */
async function probe(app: Express, withFletAuth: boolean): Promise<Probe> {
  const closed = "http://127.0.0.1:9";
  const idp = new OAuthProvider({
    clientId: "c",
    clientSecret: "s",
    redirectUrl: "http://127.0.0.1/oauth_callback",
    authorizationEndpoint: `${closed}/authorize`,
    tokenEndpoint: `${closed}/token`,
    userEndpoint: `${closed}/user`,
    userId: (u) => String(u["id"]),
  });
  let atSession: Probe["atSession"];
  const genid = (req: Request): string => {
    atSession = { req: hashed(req), res: req.res !== undefined && hashed(req.res) };
    return randomUUID();
  };
  if (withFletAuth) app.use(fletAuth({ providers: { idp }, secret: SECRET, session: { genid } }));
  app.get("/probe", (req: Request, res: Response) => {
    res.json({ req: hashed(req), res: hashed(res) });
  });
  const answer = await request(app).get("/probe").expect(200);
  return { ...(answer.body as Probe), ...(atSession !== undefined ? { atSession } : {}) };
}

/** Every own key with its descriptor, in order. */
const shape = (o: object): Array<[PropertyKey, PropertyDescriptor | undefined]> => Reflect.ownKeys(o).map((k) => [k, Object.getOwnPropertyDescriptor(o, k)]);

describe("useHashedProperties", () => {
  it("leaves the same keys, values, descriptors and order", () => {
    const tag = Symbol("app's own");
    const o: Record<PropertyKey, unknown> = { z: 1, a: "two", 3: [3] };
    o[tag] = "symbol value";
    Object.defineProperty(o, "hidden", { value: 4, enumerable: false });
    Object.setPrototypeOf(o, { inherited: true });
    const before = shape(o);
    useHashedProperties(o);
    expect(shape(o)).toEqual(before);
    expect(Object.keys(o)).toEqual(["3", "z", "a"]);
    expect(Object.getOwnPropertySymbols(o)).toEqual([tag]);
    // Properties added afterwards still go last, in order.
    o["later"] = 5;
    expect(Object.keys(o)).toEqual(["3", "z", "a", "later"]);
  });

  it("does not throw on objects that refuse new properties, and leaves them as they were", () => {
    for (const o of [Object.freeze({ a: 1 }), Object.seal({ a: 1 }), Object.preventExtensions({ a: 1 })]) {
      const before = shape(o);
      expect(() => useHashedProperties(o)).not.toThrow();
      expect(shape(o)).toEqual(before);
    }
  });

  it("deletes only what it added: a proxy that refuses the property sees no delete", () => {
    const calls: string[] = [];
    const refusing = new Proxy(
      { a: 1 },
      {
        defineProperty: () => {
          calls.push("define");
          return false;
        },
        deleteProperty: () => {
          calls.push("delete");
          return true;
        },
      },
    );
    useHashedProperties(refusing);
    expect(calls).toEqual(["define"]);

    const seen: Array<[string, PropertyKey, PropertyDescriptor?]> = [];
    const target = { a: 1 };
    const accepting = new Proxy(target, {
      defineProperty: (t, key, descriptor) => {
        seen.push(["define", key, descriptor]);
        return Reflect.defineProperty(t, key, descriptor);
      },
      deleteProperty: (t, key) => {
        seen.push(["delete", key]);
        return Reflect.deleteProperty(t, key);
      },
    });
    useHashedProperties(accepting);
    expect(seen.map(([op]) => op)).toEqual(["define", "delete"]);
    expect(seen[1]?.[1]).toBe(seen[0]?.[1]);
    expect(typeof seen[0]?.[1]).toBe("symbol");
    // Configurable, so that the delete succeeds; nothing is left on the target.
    expect(seen[0]?.[2]).toMatchObject({ configurable: true });
    expect(Reflect.ownKeys(target)).toEqual(["a"]);
  });

  // What V8 11 (Node 20) does, measured in bench/README.md; another engine may keep these objects
  // fast or cache their transitions, and then the step only costs its two operations.
  it.runIf(V8_MEASURED)("moves Express's request and response to hash-table properties when flet-auth runs, before its session (asking V8)", async () => {
    const plain = { a: 1, b: 2 };
    useHashedProperties(plain);
    // An object on a shared hidden class gives its addition back: it stays as it was.
    expect(hashed(plain)).toBe(false);
    const detached = { a: 1, b: 2 };
    Object.setPrototypeOf(detached, { inherited: true });
    useHashedProperties(detached);
    expect(hashed(detached)).toBe(true);

    for (const { name, create } of EXPRESS) {
      // Without flet-auth Express's objects keep fast hidden classes (one per request); with it, a hash table.
      expect(await probe(create(), false), name).toEqual({ req: false, res: false });
      expect(await probe(create(), true), name).toEqual({ req: true, res: true, atSession: { req: true, res: true } });
    }
  });
});
