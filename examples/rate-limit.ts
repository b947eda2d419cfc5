/**
 * Rate limiting (docs/security.md, checklist 33): flet-auth has no limiter of its own. Mount one
 * (here express-rate-limit) before fletAuth() on what costs a provider call or a decryption: the
 * login routes, the callback, and remember-me restores (requests that carry the remember-me cookie
 * but no session cookie). Other routes, signed-in traffic included, are not limited.
 */
import express, { type Express, type Request } from "express";
import { rateLimit } from "express-rate-limit";
import { fletAuth, type FletAuthMiddleware, type OAuthProvider } from "flet-auth";

/** A browser that would be signed in again from the remember-me cookie (default cookie names). */
function restoring(req: Request): boolean {
  const cookies = req.headers.cookie ?? "";
  return /(?:^|;\s*)flet-auth\.remember=/.test(cookies) && !/(?:^|;\s*)flet-auth\.sid=/.test(cookies);
}

export function createApp(options: {
  provider: OAuthProvider;
  secret: string;
  rememberKey: string;
  /** Requests per client and window, for each of the three limiters. @default 20 */
  limit?: number;
}): { app: Express; auth: FletAuthMiddleware } {
  // One limiter (one counter per client IP) for each kind of request; behind a proxy, set
  // `app.set("trust proxy", 1)` (or your topology) so that req.ip is the client's address.
  const limiter = () =>
    rateLimit({ windowMs: 15 * 60 * 1000, limit: options.limit ?? 20, standardHeaders: "draft-7", legacyHeaders: false });
  const restoreLimiter = rateLimit({
    windowMs: 15 * 60 * 1000,
    limit: options.limit ?? 20,
    standardHeaders: "draft-7",
    legacyHeaders: false,
    skip: (req) => !restoring(req),
  });

  const auth = fletAuth({
    providers: { idp: options.provider },
    secret: options.secret, // process.env.SESSION_SECRET
    rememberMe: { secretKey: options.rememberKey }, // process.env.REMEMBER_ME_KEY
  });
  const app = express();
  app.use("/login", limiter()); // GET /login/:provider (fletAuth's loginPath)
  app.use("/oauth_callback", limiter()); // the path of the providers' redirectUrl
  app.use(restoreLimiter); // remember-me restores
  app.use(auth);
  app.get("/", (req, res) => {
    res.type("html").send(req.auth ? "<p>Signed in</p>" : `<a href="/login/idp?remember=1">Login</a>`);
  });
  return { app, auth };
}
