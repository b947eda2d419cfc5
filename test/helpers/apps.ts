/**
 * Real Express apps (4 and 5) around fletAuth for the integration suites.
 */
import express5 from "express";
import express4 from "express4";
import type { Express, Request, Response } from "express";
import request from "supertest";
import { expect } from "vitest";
import { fletAuth, OAuthProvider, type FletAuthMiddleware, type FletAuthOptions } from "../../lib/index.js";
import type { FakeProvider } from "./fake-provider.js";

/** Both Express majors: every integration suite runs against each. */
export const EXPRESS = [
  { name: "express 5", create: () => express5() as unknown as Express },
  { name: "express 4", create: () => (express4 as unknown as () => Express)() },
] as const;

export type ExpressFactory = (typeof EXPRESS)[number]["create"];

/** A supertest agent: one browser with its cookie jar. */
export type Agent = ReturnType<typeof request.agent>;

/** What `GET /me` of {@link buildApp} answers. */
export interface MeBody {
  signedIn: boolean;
  provider: string | null;
  user: ({ id: string; groups: Array<Record<string, unknown> & { name: string }> } & Record<string, unknown>) | null;
  providers: string[];
}

export const SECRET = "test-session-secret-0123456789abcdef";

/** A generic provider pointed at the fake provider's standard endpoints. */
export function standardProvider(fake: FakeProvider, overrides: Partial<ConstructorParameters<typeof OAuthProvider>[0]> = {}): OAuthProvider {
  return new OAuthProvider({
    clientId: fake.clientId,
    clientSecret: fake.clientSecret,
    authorizationEndpoint: `${fake.url}/authorize`,
    tokenEndpoint: `${fake.url}/token`,
    userEndpoint: `${fake.url}/userinfo`,
    userId: (u) => String(u["sub"]),
    userScopes: ["openid", "profile"],
    scopes: ["offline_access"],
    redirectUrl: "http://127.0.0.1/oauth_callback",
    ...overrides,
  });
}

/** An app with fletAuth and a few routes that show what the request sees. */
/** fletAuth options for tests: `secret` defaults to {@link SECRET}. */
export type TestAuthOptions = Omit<FletAuthOptions, "secret"> & { readonly secret?: FletAuthOptions["secret"] };

export function buildApp(create: ExpressFactory, options: TestAuthOptions): { app: Express; auth: FletAuthMiddleware } {
  const app = create();
  const auth = fletAuth({ secret: SECRET, ...options });
  app.use(auth);
  app.get("/me", (req: Request, res: Response) => {
    res.json({ signedIn: req.auth !== undefined, provider: req.auth?.provider ?? null, user: req.auth?.user ?? null, providers: Object.keys(req.authorizations) });
  });
  app.get("/token", async (req: Request, res: Response, next) => {
    try {
      if (!req.auth) return res.status(401).json({ error: "signed out" });
      const token = await req.auth.getToken();
      res.json({ accessToken: token.accessToken, refreshToken: token.refreshToken ?? null, expiresAt: token.expiresAt ?? null });
    } catch (err) {
      next(err);
    }
  });
  app.use((err: { status?: number; code?: string; message: string }, _req: Request, res: Response, _next: (e?: unknown) => void) => {
    void _next;
    res.status(err.status ?? 500).json({ code: err.code ?? "error", message: err.message });
  });
  return { app, auth };
}

/** Path + query of an absolute URL, for supertest. */
export function pathOf(url: string): string {
  const u = new URL(url);
  return `${u.pathname}${u.search}`;
}

/** Asserts a redirect to the provider's authorize endpoint and returns its URL. */
export function shouldRedirectToProvider(res: request.Response, authorizeEndpoint: string): URL {
  expect(res.status).toBe(302);
  const location = res.headers["location"] as string;
  expect(location.startsWith(authorizeEndpoint)).toBe(true);
  return new URL(location);
}

/** Runs a whole sign-in through the fake provider; returns the callback response. */
export async function signIn(
  agent: ReturnType<typeof request.agent>,
  fake: FakeProvider,
  loginPath: string,
  options: { deny?: boolean } = {},
): Promise<request.Response> {
  const start = await agent.get(loginPath);
  expect(start.status, `login start ${start.text}`).toBe(302);
  const callback = await fake.authorize(start.headers["location"] as string, options);
  return agent.get(pathOf(callback));
}
