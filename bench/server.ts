/**
 * One app under test, run as a child process by the benchmarks (bench/common.ts startServer):
 *
 *   node --import tsx bench/server.ts <bare|session|fletauth|fletauth-remember>
 *
 * Every kind answers `GET /me` with `{ signedIn, user }`; `GET /__cpu` reports the process's CPU
 * time so the parent can divide it by the requests served. FAKE_URL points at the fake provider.
 */
import express, { type Request, type Response } from "express";
import session from "express-session";
import { fletAuth, OAuthProvider } from "../lib/index.js";
import { BENCH_REMEMBER_KEY, BENCH_SECRET } from "./common.js";

const kind = process.argv[2] ?? "bare";
const fakeUrl = process.env.FAKE_URL ?? "http://127.0.0.1:9";

const app = express();
app.get("/__cpu", (_req: Request, res: Response) => {
  res.json(process.cpuUsage());
});

switch (kind) {
  case "bare":
    break;
  case "session":
    app.use(session({ secret: BENCH_SECRET, resave: false, saveUninitialized: false, name: "bench.sid" }));
    break;
  case "fletauth":
  case "fletauth-remember": {
    const idp = new OAuthProvider({
      clientId: "test-client",
      clientSecret: "test-secret",
      authorizationEndpoint: `${fakeUrl}/authorize`,
      tokenEndpoint: `${fakeUrl}/token`,
      userEndpoint: `${fakeUrl}/userinfo`,
      userId: (u) => String(u["sub"]),
      userScopes: ["openid", "profile"],
      scopes: ["offline_access"],
      redirectUrl: "http://127.0.0.1/oauth_callback",
    });
    const auth = fletAuth({
      providers: { idp },
      secret: BENCH_SECRET,
      ...(kind === "fletauth-remember" ? { rememberMe: { secretKey: BENCH_REMEMBER_KEY } } : {}),
      // The fake provider's logs would only slow the run down.
      logger: { warn: () => undefined, error: () => undefined },
    });
    app.use(auth);
    // A remembered login without the user profile: its restores make no provider call at all.
    app.get("/signin-nofetch", (req: Request, res: Response, next) => {
      req.login("idp", { remember: true, fetchUser: false }).catch(next);
      void res;
    });
    break;
  }
  default:
    throw new Error(`unknown server kind ${kind}`);
}

app.get("/me", (req: Request, res: Response) => {
  res.json({ signedIn: req.auth !== undefined, user: req.auth?.user?.id ?? null });
});

const server = app.listen(0, "127.0.0.1", () => {
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  process.send?.({ port });
});
process.on("SIGTERM", () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
process.on("disconnect", () => process.exit(0));
