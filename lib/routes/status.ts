import type { Request, Response } from "express";
import { noStore } from "./respond.js";

/** `GET <assetsPath>/status`: signed-in state for the page's JavaScript — user fields, never tokens (checklist 30). */
export function handleStatus(req: Request, res: Response): void {
  noStore(res);
  res.json({
    signedIn: req.auth !== undefined,
    provider: req.auth?.provider ?? null,
    user: req.auth?.user ?? null,
    providers: Object.keys(req.authorizations),
  });
}
