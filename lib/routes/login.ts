import type { Request } from "express";
import { queryFlag, queryParam } from "./respond.js";

/** `GET <loginPath>/:provider?returnTo=/x&remember=1&popup=1`. */
export async function handleLoginRoute(req: Request, name: string): Promise<void> {
  const returnTo = queryParam(req, "returnTo");
  await req.login(name, {
    ...(returnTo !== undefined ? { returnTo } : {}),
    remember: queryFlag(req, "remember"),
    // The browser helper's popup wants the complete page, which tells the opener and closes.
    ...(queryFlag(req, "popup") ? { redirectToPage: false } : {}),
  });
}
