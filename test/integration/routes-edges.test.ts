/**
 * Edges of the callback and logout routes (lib/routes/callback.ts, lib/routes/logout.ts) that the
 * other suites leave open: an OpenID Connect sign-in through a loopback front that signs real ID
 * tokens (the login's nonce checked, the claims kept), the in-process single use of a state and
 * its record in the shared store, RP-initiated logout seen from a script (JSON) and from a
 * browser (returnTo kept across the provider's end-session page), a browser's Accept header, and
 * a POST whose Origin is present but empty.
 */
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import type { Request, Response } from "express";
import { exportJWK, generateKeyPair, type CryptoKey } from "jose";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMemoryStore, type FletAuthStore, type OAuthProvider } from "../../lib/index.js";
import { EXPRESS, standardProvider } from "../helpers/apps.js";
import { startFakeProvider, type FakeProvider } from "../helpers/fake-provider.js";
import { claimsOf, nowSeconds, signRs256, type Claims } from "../helpers/oidc-jwt.js";
import { GatedMemoryStore } from "../helpers/review-harness.js";
import { buildSecurityApp, recordEvents, relative, startLogin, type Client } from "../helpers/security-helpers.js";

const KID = "routes-edges-key";

/**
 * An OpenID provider in front of the fake provider: `POST /token` relays the code exchange and
 * replaces the fake's unverifiable `id_token` by one signed with this front's key, carrying the
 * nonce the login sent (or what `nonce` returns); `GET /jwks` publishes the key.
 */
interface IdTokenFront {
  readonly url: string;
  /** The nonce to put in the next ID tokens, given the one the login sent; identity by default. */
  nonce: (sent: string | undefined) => string | undefined;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

async function startIdTokenFront(fake: FakeProvider): Promise<IdTokenFront> {
  const { publicKey, privateKey } = await generateKeyPair("RS256");
  const jwk = { ...(await exportJWK(publicKey as CryptoKey)), kid: KID, alg: "RS256", use: "sig" };
  const server = createServer((req, res) => {
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
      res.end(JSON.stringify(body));
    };
    const handle = async (): Promise<void> => {
      if (req.method === "GET" && req.url === "/jwks") return send(200, { keys: [jwk] });
      if (req.method !== "POST" || req.url !== "/token") return send(404, { error: "not_found" });
      const headers: Record<string, string> = {};
      for (const name of ["authorization", "content-type", "accept"]) {
        const value = req.headers[name];
        if (typeof value === "string") headers[name] = value;
      }
      const upstream = await fetch(`${fake.url}/token`, { method: "POST", headers, body: await readBody(req) });
      const json = (await upstream.json()) as Record<string, unknown>;
      if (upstream.status !== 200 || typeof json["id_token"] !== "string") return send(upstream.status, json);
      const sent = claimsOf(json["id_token"])["nonce"];
      const nonce = front.nonce(typeof sent === "string" ? sent : undefined);
      const now = nowSeconds();
      const claims: Claims = { iss: front.url, aud: fake.clientId, sub: "1001", sid: "op-session-1", iat: now, exp: now + 300, ...(nonce !== undefined ? { nonce } : {}) };
      send(200, { ...json, id_token: await signRs256(claims, { kid: KID, privateKey: privateKey as CryptoKey }) });
    };
    handle().catch((err: unknown) => send(500, { error: "server_error", error_description: String(err) }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const front: IdTokenFront = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    nonce: (sent) => sent,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err === undefined ? resolve() : reject(err)));
        server.closeAllConnections();
      }),
  };
  return front;
}

/** Answers ifAbsent claims of login states with "written" even when the key exists (no atomic claim). */
function storeWithoutAtomicClaims(inner: FletAuthStore): FletAuthStore {
  return {
    getMany: (keys) => inner.getMany(keys),
    set: (key, value, ttlMs, options) => (key.startsWith("state:") ? inner.set(key, value, ttlMs).then(() => true) : inner.set(key, value, ttlMs, options)),
    swap: (key, expected, value, ttlMs) => inner.swap(key, expected, value, ttlMs),
    delete: (key) => inner.delete(key),
  };
}

/** The apps start logins on an ephemeral port the redirectUrl does not name: that warning is expected. */
const quiet = { warn: () => undefined, error: () => undefined };

describe.each(EXPRESS)("route edges ($name)", ({ create }) => {
  let fake: FakeProvider;
  let front: IdTokenFront;

  beforeAll(async () => {
    fake = await startFakeProvider();
    front = await startIdTokenFront(fake);
  });
  afterAll(async () => {
    await front.close();
    await fake.close();
  });

  const END_SESSION = "https://idp.example/end-session";

  function oidcProvider(): OAuthProvider {
    return standardProvider(fake, { tokenEndpoint: `${front.url}/token`, issuer: front.url, jwksUri: `${front.url}/jwks`, endSessionEndpoint: END_SESSION });
  }

  /** An app whose `demo` provider verifies ID tokens; `GET /claims` shows `req.auth.claims`. */
  function oidcApp(options: { idpLogout?: boolean } = {}) {
    // What flet-auth reports it could not answer (a failure after the response started).
    const logged: unknown[][] = [];
    const logger = { warn: () => undefined, error: (...args: unknown[]) => void logged.push(args) };
    const built = buildSecurityApp(
      create,
      { providers: { demo: oidcProvider() }, redirectToPage: false, logger, ...options },
      {
        after: (app) => {
          app.get("/claims", (req: Request, res: Response) => {
            res.json({ claims: req.auth?.claims ?? null });
          });
        },
      },
    );
    return { ...built, logged, events: recordEvents(built.auth), agent: request.agent(built.app) };
  }

  async function signIn(agent: Client): Promise<request.Response> {
    const started = await startLogin(agent, "/login/demo");
    return agent.get(relative(await fake.authorize(started.authorizeUrl.toString())));
  }

  const stillSignedIn = async (agent: Client): Promise<boolean> => (await agent.get("/me")).body.signedIn as boolean;

  describe("callback", () => {
    it("an OpenID Connect sign-in verifies the ID token against the login's nonce and keeps its claims", async () => {
      const { agent, events } = oidcApp();
      const res = await signIn(agent);
      expect(res.status, res.text).toBe(200);
      expect(events.logins).toEqual([expect.objectContaining({ error: undefined, signedIn: true })]);
      const { claims } = (await agent.get("/claims")).body as { claims: Record<string, unknown> | null };
      expect(claims).toMatchObject({ iss: front.url, sub: "1001", sid: "op-session-1" });
      expect(typeof claims?.["nonce"]).toBe("string");
      expect((claims?.["nonce"] as string).length).toBeGreaterThan(0);
    });

    it("an ID token that carries another nonce than the login's is refused (id_token_invalid)", async () => {
      front.nonce = () => "someone-elses-nonce";
      try {
        const { agent, events } = oidcApp();
        const res = await signIn(agent);
        expect(res.status).toBe(401);
        expect(events.logins.map((e) => e.error)).toEqual(["id_token_invalid"]);
        expect(await stillSignedIn(agent)).toBe(false);
      } finally {
        front.nonce = (sent) => sent;
      }
    });

    it("within one instance a state is single-use by itself: with a store that accepts every claim, two concurrent callbacks make one code exchange", async () => {
      const sessions = new GatedMemoryStore();
      const { app, events } = (() => {
        const built = buildSecurityApp(create, {
          providers: { demo: standardProvider(fake) },
          redirectToPage: false,
          logger: quiet,
          session: { store: sessions },
          store: storeWithoutAtomicClaims(createMemoryStore()),
        });
        return { ...built, events: recordEvents(built.auth) };
      })();
      const agent = request.agent(app);
      const started = await startLogin(agent, "/login/demo");
      const cookie = ([] as string[])
        .concat(started.res.headers["set-cookie"] ?? [])
        .map((c) => c.split(";")[0])
        .join("; ");
      const callback = relative(await fake.authorize(started.authorizeUrl.toString()));
      const before = fake.count("/token", "authorization_code");
      // Both requests load the session (with the pending login) before either goes on.
      sessions.holdLoads(2);
      const [a, b] = await Promise.all([request(app).get(callback).set("Cookie", cookie), request(app).get(callback).set("Cookie", cookie)]);
      expect(fake.count("/token", "authorization_code") - before).toBe(1);
      expect([a.status, b.status].sort()).toEqual([200, 400]);
      expect(events.logins.map((e) => e.error ?? "ok").sort()).toEqual(["invalid_state", "ok"]);
    });

    it("the claimed state is written to the shared store once, as a non-empty marker kept for loginTimeoutMs, only if absent", async () => {
      const inner = createMemoryStore();
      const writes: Array<{ key: string; value: string; ttlMs: number; ifAbsent: boolean }> = [];
      const store: FletAuthStore = {
        getMany: (keys) => inner.getMany(keys),
        set: (key, value, ttlMs, options) => {
          writes.push({ key, value, ttlMs, ifAbsent: options?.ifAbsent === true });
          return inner.set(key, value, ttlMs, options);
        },
        swap: (key, expected, value, ttlMs) => inner.swap(key, expected, value, ttlMs),
        delete: (key) => inner.delete(key),
      };
      const { app } = buildSecurityApp(create, { providers: { demo: standardProvider(fake) }, redirectToPage: false, logger: quiet, store, loginTimeoutMs: 120_000 });
      const agent = request.agent(app);
      expect((await signIn(agent)).status).toBe(200);
      const claims = writes.filter((w) => w.key.startsWith("state:"));
      expect(claims).toHaveLength(1);
      expect(claims[0]).toMatchObject({ ttlMs: 120_000, ifAbsent: true });
      expect(claims[0]?.value).not.toBe("");
      expect((await inner.getMany([claims[0]?.key ?? ""]))[0]).toBe(claims[0]?.value);
    });
  });

  describe("logout", () => {
    it("a JSON sign-out never sends the script to the provider's end-session page, even with idpLogout on", async () => {
      const { agent, errors } = oidcApp({ idpLogout: true });
      expect((await signIn(agent)).status).toBe(200);
      const res = await agent.post("/logout").set("Sec-Fetch-Site", "same-origin").set("Accept", "application/json");
      expect(res.status).toBe(200);
      expect(res.headers["location"]).toBeUndefined();
      expect(res.body).toEqual({ signedIn: false });
      expect(errors).toEqual([]);
      expect(await stillSignedIn(agent)).toBe(false);
    });

    it("a browser's sign-out with idpLogout goes to the end-session page once, and returnTo survives the trip", async () => {
      const { agent, errors, logged } = oidcApp({ idpLogout: true });
      expect((await signIn(agent)).status).toBe(200);
      const res = await agent.post("/logout?returnTo=%2Fgoodbye").set("Sec-Fetch-Site", "same-origin").set("Accept", "text/html");
      expect(res.status).toBe(302);
      const endSession = new URL(res.headers["location"] as string);
      expect(`${endSession.origin}${endSession.pathname}`).toBe(END_SESSION);
      const state = endSession.searchParams.get("state");
      const back = new URL(endSession.searchParams.get("post_logout_redirect_uri") ?? "");
      expect(state).toBeTruthy();
      // The route stops once the provider redirect is sent: no error after the response started.
      expect(errors).toEqual([]);
      expect(logged).toEqual([]);
      expect(await stillSignedIn(agent)).toBe(false);
      const returned = await agent.get(`${back.pathname}?state=${encodeURIComponent(state ?? "")}`);
      expect(returned.status).toBe(303);
      expect(returned.headers["location"]).toBe("/goodbye");
    });

    it("a browser's Accept header (HTML first, */* last) gets the redirect, not JSON", async () => {
      const { agent } = oidcApp();
      expect((await signIn(agent)).status).toBe(200);
      const res = await agent
        .post("/logout?returnTo=%2Fbye")
        .set("Sec-Fetch-Site", "same-origin")
        .set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8");
      expect(res.status).toBe(303);
      expect(res.headers["location"]).toBe("/bye");
      expect(await stillSignedIn(agent)).toBe(false);
    });

    it("a POST without Fetch Metadata whose Origin is present but empty is refused as cross-site", async () => {
      const { agent, errors } = oidcApp();
      expect((await signIn(agent)).status).toBe(200);
      const res = await agent.post("/logout").set("Origin", "").set("Accept", "application/json");
      expect(res.status).toBe(403);
      expect((res.body as { code: string }).code).toBe("cross_site_request");
      expect(errors).toHaveLength(1);
      expect(await stillSignedIn(agent)).toBe(true);
    });
  });
});
