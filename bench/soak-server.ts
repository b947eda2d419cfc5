/**
 * One app instance of the soak (bench/soak.ts), run as a child process:
 *
 *   node --import tsx bench/soak-server.ts
 *
 * Environment (set by the parent): SOAK_NAME, SOAK_PORT, REDIS_URL, FAKE_URL, TOKEN_URL and
 * SOAK_SETTINGS (JSON of the timing options). Sessions in Redis (connect-redis), the flet-auth
 * store and the refresh lock in the same Redis, one node-redis client with
 * `disableOfflineQueue: true`, as docs/reliability.md recommends.
 *
 * `GET /work` awaits `req.auth.getToken()`: 200, or the error's status with `{ code, oauthError }`
 * (401 `signed_out` without a sign-in). `GET /me` says whether the browser is signed in.
 */
import { RedisStore } from "connect-redis";
import express, { type NextFunction, type Request, type Response } from "express";
import { createClient } from "redis";
import { FletAuthError, OAuthProvider, createOAuthHttp, createRedisRefreshLock, createRedisStore, fletAuth } from "../lib/index.js";

export interface SoakSettings {
  readonly timeoutMs: number;
  readonly refreshTimeoutMs: number;
  readonly storeTimeoutMs: number;
  readonly commandTimeoutMs: number;
  readonly lockMs: number;
  readonly graceMs: number;
  readonly failureMs: number;
  readonly refreshMarginMs: number;
}

export const SOAK_SECRET = "soak-session-secret-0123456789abcdef-0123";

const env = (name: string): string => {
  const value = process.env[name];
  if (value === undefined || value === "") throw new Error(`soak-server: ${name} is not set`);
  return value;
};

async function main(): Promise<void> {
  const name = env("SOAK_NAME");
  const settings = JSON.parse(env("SOAK_SETTINGS")) as SoakSettings;
  const fakeUrl = env("FAKE_URL");
  const stats = { redisErrors: 0, warnings: 0, errors: 0, refreshes: 0, logouts: [] as Array<{ reason: string }> };

  const redis = createClient({ url: env("REDIS_URL"), disableOfflineQueue: true });
  redis.on("error", () => (stats.redisErrors += 1));
  await redis.connect();

  const idp = new OAuthProvider({
    clientId: "test-client",
    clientSecret: "test-secret",
    authorizationEndpoint: `${fakeUrl}/authorize`,
    tokenEndpoint: env("TOKEN_URL"),
    userEndpoint: `${fakeUrl}/userinfo`,
    userId: (u) => String(u["sub"]),
    userScopes: ["openid", "profile"],
    scopes: ["offline_access"],
    redirectUrl: "http://127.0.0.1/oauth_callback",
  });
  const auth = fletAuth({
    providers: { idp },
    secret: SOAK_SECRET,
    session: { store: new RedisStore({ client: redis, prefix: "soak:sess:" }) },
    store: createRedisStore(redis, { prefix: "soak:store:", commandTimeoutMs: settings.commandTimeoutMs }),
    refreshLock: createRedisRefreshLock(redis, {
      prefix: "soak:refresh:",
      lockMs: settings.lockMs,
      graceMs: settings.graceMs,
      failureMs: settings.failureMs,
      commandTimeoutMs: settings.commandTimeoutMs,
    }),
    http: createOAuthHttp({ timeoutMs: settings.timeoutMs, refreshTimeoutMs: settings.refreshTimeoutMs, userAgent: `soak-${name}` }),
    timeoutMs: settings.timeoutMs,
    storeTimeoutMs: settings.storeTimeoutMs,
    refreshMarginMs: settings.refreshMarginMs,
    logger: { warn: () => void (stats.warnings += 1), error: () => void (stats.errors += 1) },
  });
  auth.on("refresh", () => void (stats.refreshes += 1));
  auth.on("logout", (e) => void stats.logouts.push({ reason: e.reason }));

  const app = express();
  app.use(auth);
  app.get("/work", async (req: Request, res: Response) => {
    if (!req.auth) return void res.status(401).json({ code: "signed_out" });
    try {
      const token = await req.auth.getToken();
      res.json({ ok: true, expiresAt: token.expiresAt ?? null });
    } catch (err) {
      const e = err instanceof FletAuthError ? err : undefined;
      res.status(e?.status ?? 500).json({ code: e?.code ?? "error", oauthError: e?.oauthError ?? null, message: e?.message ?? String(err) });
    }
  });
  app.get("/me", (req: Request, res: Response) => void res.json({ signedIn: req.auth !== undefined }));
  app.get("/__stats", (_req: Request, res: Response) => void res.json(stats));
  app.use((err: { status?: number; code?: string; message?: string }, _req: Request, res: Response, _next: NextFunction) => {
    void _next;
    res.status(err.status ?? 500).json({ code: err.code ?? "error", message: err.message ?? "" });
  });

  const server = app.listen(Number(env("SOAK_PORT")), "127.0.0.1", () => process.send?.({ ready: true }));
  process.on("SIGTERM", () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
  process.on("disconnect", () => process.exit(0));
}

main().catch((err: unknown) => {
  console.error("soak-server failed to start", err);
  process.exit(1);
});
