import type { Response } from "express";
import { BROWSER_HELPER } from "../client/helper.js";

/** `GET <assetsPath>/client.js`: the popup helper (see docs/browser.md). */
export function handleClientScript(res: Response): void {
  res.set("Cache-Control", "public, max-age=3600");
  res.set("X-Content-Type-Options", "nosniff");
  res.type("application/javascript").send(BROWSER_HELPER);
}
