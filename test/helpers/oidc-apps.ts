/**
 * Apps of the OpenID Connect suite: real Express servers on loopback ports known before the
 * provider starts (its client registration names them: redirect, post-logout and back-channel
 * URIs), with fletAuth and routes that show what a request sees — `req.auth.claims` included.
 */
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import type { Express, NextFunction, Request, Response } from "express";
import { fletAuth, type FletAuthMiddleware, type FletAuthOptions } from "../../lib/index.js";
import { SECRET } from "./apps.js";
import { recordingLogger } from "./review-harness.js";

/** A listening server whose app the test swaps: the port (and so the origin) outlives the apps. */
export interface Slot {
  readonly url: string;
  mount(app: Express | undefined): void;
  close(): Promise<void>;
}

export async function startSlot(): Promise<Slot> {
  let current: Express | undefined;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (current) return void current(req, res);
    res.writeHead(503, { "content-type": "text/plain" });
    res.end("no app mounted");
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  let closed: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    mount(app) {
      current = app;
      server.closeIdleConnections();
    },
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

export interface RecordedLogin {
  readonly provider: string;
  readonly error: string | undefined;
  readonly errorDescription: string | undefined;
  readonly userId: string | undefined;
}

export interface OidcApp {
  readonly app: Express;
  readonly auth: FletAuthMiddleware;
  readonly logins: RecordedLogin[];
  readonly logouts: Array<{ readonly provider: string; readonly reason: string }>;
  readonly logger: ReturnType<typeof recordingLogger>;
}

/** What `GET /claims` answers. */
export interface ClaimsBody {
  readonly signedIn: boolean;
  readonly claims: Record<string, unknown> | null;
  readonly frozen: boolean | null;
  /** Whether `claims.sub = …` changed anything (it must throw in strict mode, and change nothing). */
  readonly writable: boolean | null;
  readonly user: (Record<string, unknown> & { id: string }) | null;
}

export type OidcAppOptions = Omit<FletAuthOptions, "secret" | "logger">;

/**
 * An app with fletAuth and: `GET /me`, `GET /claims`, `GET /stored-token` (the stored token, not
 * refreshed), `GET /home` (a page with a sign-out form), `GET /bye`; a JSON error handler.
 */
export function oidcApp(options: OidcAppOptions, before?: (app: Express) => void): OidcApp {
  const app = express();
  before?.(app);
  const logger = recordingLogger();
  const auth = fletAuth({ secret: SECRET, logger, ...options });
  const logins: RecordedLogin[] = [];
  const logouts: OidcApp["logouts"] = [];
  auth.on("login", (e) => void logins.push({ provider: e.provider, error: e.error, errorDescription: e.errorDescription, userId: e.auth?.user?.id }));
  auth.on("logout", (e) => void logouts.push({ provider: e.provider, reason: e.reason }));
  app.use(auth);
  app.get("/me", (req: Request, res: Response) => {
    res.json({ signedIn: req.auth !== undefined, user: req.auth?.user ?? null });
  });
  app.get("/claims", (req: Request, res: Response) => {
    const claims = req.auth?.claims;
    let writable: boolean | null = null;
    if (claims !== undefined) {
      const before = claims["sub"];
      try {
        (claims as Record<string, unknown>)["sub"] = "mallory";
      } catch {
        // TypeError in strict mode: frozen.
      }
      writable = claims["sub"] !== before;
    }
    const body: ClaimsBody = {
      signedIn: req.auth !== undefined,
      claims: claims === undefined ? null : { ...claims },
      frozen: claims === undefined ? null : Object.isFrozen(claims),
      writable,
      user: req.auth?.user ?? null,
    };
    res.json(body);
  });
  app.get("/stored-token", (req: Request, res: Response) => {
    res.json(req.auth ? (JSON.parse(req.auth.token.toJson()) as Record<string, unknown>) : null);
  });
  app.get("/home", (req: Request, res: Response) => {
    res.type("html").send(
      req.auth
        ? `<!DOCTYPE html><title>Home</title><p id="who">Signed in as ${String(req.auth.user?.["email"] ?? "?")}</p>` +
            `<form method="post" action="/logout?returnTo=%2Fbye"><button id="sign-out" type="submit">Sign out everywhere</button></form>`
        : `<!DOCTYPE html><title>Home</title><p id="signed-out">Signed out</p>`,
    );
  });
  app.get("/bye", (req: Request, res: Response) => {
    res.type("html").send(`<!DOCTYPE html><title>Bye</title><p id="bye">${req.auth ? "still signed in" : "Goodbye"}</p>`);
  });
  app.use((err: { status?: number; code?: string; message: string }, _req: Request, res: Response, _next: NextFunction) => {
    void _next;
    res.status(err.status ?? 500).json({ code: err.code ?? "error", message: err.message });
  });
  return { app, auth, logins, logouts, logger };
}
