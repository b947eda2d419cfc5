/**
 * regenerateSession (lib/session/session.ts) on a real express-session: on sign-in the app's data
 * keys move to the new session, flet-auth's part is replaced, and neither the old session's cookie
 * object nor function-valued keys (not data: no store keeps them) are carried over.
 */
import express from "express";
import type { Request, Response } from "express";
import session from "express-session";
import request from "supertest";
import { describe, expect, it } from "vitest";
import { regenerateSession } from "../../../lib/session/session.js";

declare module "express-session" {
  interface SessionData {
    cart?: string[];
  }
}

type WithHelper = { helper?: unknown };

function app(): express.Express {
  const a = express();
  a.use(session({ secret: "regenerate-edges-secret-0123456789", resave: false, saveUninitialized: false, store: new session.MemoryStore() }));
  a.post("/regenerate", async (req: Request, res: Response) => {
    req.session.cart = ["book", "pen"];
    (req.session as unknown as WithHelper).helper = () => "from the old session";
    req.session.fletAuth = { current: "old", auths: { old: "signin-old" } };
    const oldId = req.sessionID;
    const oldCookie = req.session.cookie;
    await regenerateSession(req, { current: "demo", auths: { demo: "signin-new" } });
    res.json({
      newId: req.sessionID !== oldId,
      cart: req.session.cart ?? null,
      fletAuth: req.session.fletAuth ?? null,
      helper: typeof (req.session as unknown as WithHelper).helper,
      sameCookieObject: req.session.cookie === oldCookie,
      ownKeys: Object.keys(req.session).sort(),
    });
  });
  return a;
}

describe("regenerateSession on sign-in", () => {
  it("moves the app's data keys to a new session id; flet-auth's part is the one given; no function-valued key and not the old cookie object", async () => {
    const res = await request(app()).post("/regenerate");
    expect(res.status, res.text).toBe(200);
    expect(res.body).toEqual({
      newId: true,
      cart: ["book", "pen"],
      fletAuth: { current: "demo", auths: { demo: "signin-new" } },
      helper: "undefined",
      sameCookieObject: false,
      ownKeys: ["cart", "cookie", "fletAuth"],
    });
  });
});
