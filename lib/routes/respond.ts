import type { Request, Response } from "express";
import { renderCompletePage, type CompletePageTemplate, type RawOutcome } from "../pages/complete-page.js";
import type { Runtime } from "../runtime.js";

/** Headers every auth response carries (checklist 15, 34): no caching, no referrer, no framing. */
export function noStore(res: Response): void {
  res.set("Cache-Control", "no-store");
  res.set("Pragma", "no-cache");
  res.set("Referrer-Policy", "no-referrer");
  res.set("X-Frame-Options", "DENY");
  res.set("X-Content-Type-Options", "nosniff");
}

/** Answers the complete page for an outcome. */
export function sendCompletePage(
  rt: Runtime,
  res: Response,
  template: CompletePageTemplate | undefined,
  outcome: RawOutcome,
  status: number,
): void {
  const nonce = Buffer.from(rt.config.randomBytes(16)).toString("base64");
  const page = renderCompletePage(template, outcome, nonce);
  noStore(res);
  res.set("Content-Security-Policy", page.csp);
  res.status(status).type("html").send(page.html);
}

/** A single string query parameter (Express 5 may give arrays or objects for crafted queries). */
export function queryParam(req: Request, name: string): string | undefined {
  const value: unknown = (req.query as Record<string, unknown>)[name];
  return typeof value === "string" ? value : undefined;
}

/** True for query flags such as `?remember=1`, `?remember=true`, `?remember=on`. */
export function queryFlag(req: Request, name: string): boolean {
  const value = queryParam(req, name);
  return value === "1" || value === "true" || value === "on" || value === "yes";
}
