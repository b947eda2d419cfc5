/**
 * lib/oidc/id-token.ts in-process: verifyIdToken() against a JWKS served on 127.0.0.1 (node:http),
 * with the check's injected clock (`nowMs`, far from the wall clock) — the signature, the
 * algorithm allow-list (never `none`, never HS256 keyed with the public key), `iss`, `aud`,
 * `azp`, `exp`/`nbf` with the 30 s tolerance, the required claims, `nonce`, a refreshed token's
 * `sub`, the per-JWKS key-set cache, jose's refetch cooldown and cache age, the JWKS timeout, and
 * the `{tenantid}` issuer template. test/e2e/oidc.test.ts covers the same through oidc-provider.
 */
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { CompactSign, SignJWT, exportJWK, exportSPKI, generateKeyPair, type CryptoKey, type JWK } from "jose";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { FletAuthError, OAuthProvider, type OAuthProviderOptions } from "../../../lib/index.js";
import { issuerFor, keySetFor, verifyIdToken, type IdTokenCheck, type KeySets } from "../../../lib/oidc/id-token.js";
import { hs256WithPublicKey, signRs256, strayKey, unsecuredJwt, type Claims, type SigningKey } from "../../helpers/oidc-jwt.js";

/** The checks' clock: 2027-01-15T08:00:00Z, whole seconds, nowhere near the wall clock. */
const NOW_MS = 1_800_000_000_000;
const NOW_S = NOW_MS / 1000;
const CLIENT = "oidc-unit-client";
const NONCE = "nonce-of-this-login";

type JwksMode = "serve" | "hang" | "status-500" | "not-json";

interface Jwks {
  readonly url: string;
  readonly issuer: string;
  hits: number;
  mode: JwksMode;
  close(): Promise<void>;
}

let rsa: SigningKey;
let rsaPublicPem: string;
let ec: { kid: string; privateKey: CryptoKey };
let jwks: Jwks;

async function startJwks(keys: JWK[]): Promise<Jwks> {
  const hanging = new Set<ServerResponse>();
  const server: Server = createServer((_req: IncomingMessage, res: ServerResponse) => {
    state.hits += 1;
    if (state.mode === "hang") return void hanging.add(res);
    if (state.mode === "status-500") {
      res.writeHead(500, { "content-type": "application/json" });
      return void res.end("{}");
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(state.mode === "not-json" ? "<html>not a key set</html>" : JSON.stringify({ keys }));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const state: Jwks = {
    url: `${base}/jwks`,
    issuer: `${base}/issuer`,
    hits: 0,
    mode: "serve",
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  return state;
}

beforeAll(async () => {
  const pair = await generateKeyPair("RS256", { extractable: true });
  rsa = { kid: "rsa-1", privateKey: pair.privateKey };
  rsaPublicPem = await exportSPKI(pair.publicKey);
  const ecPair = await generateKeyPair("ES256");
  ec = { kid: "ec-1", privateKey: ecPair.privateKey };
  jwks = await startJwks([
    { ...(await exportJWK(pair.publicKey)), kid: rsa.kid, alg: "RS256", use: "sig" },
    { ...(await exportJWK(ecPair.publicKey)), kid: ec.kid, alg: "ES256", use: "sig" },
  ]);
});

afterAll(async () => {
  await jwks?.close();
});

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
  jwks.mode = "serve";
});

function provider(overrides: Partial<OAuthProviderOptions> = {}): OAuthProvider {
  return new OAuthProvider({
    clientId: CLIENT,
    clientSecret: "oidc-unit-secret",
    authorizationEndpoint: "http://127.0.0.1/authorize",
    tokenEndpoint: "http://127.0.0.1/token",
    redirectUrl: "http://127.0.0.1/oauth_callback",
    issuer: jwks.issuer,
    jwksUri: jwks.url,
    ...overrides,
  });
}

const good = (more: Claims = {}): Claims => ({ iss: jwks.issuer, sub: "user-1", aud: CLIENT, iat: NOW_S, exp: NOW_S + 600, nonce: NONCE, ...more });

const without = (claim: string, claims: Claims = good()): Claims => Object.fromEntries(Object.entries(claims).filter(([k]) => k !== claim)) as Claims;

function verify(token: unknown, check: Partial<IdTokenCheck> = {}, p: OAuthProvider = provider(), keySets: KeySets = new Map()) {
  return verifyIdToken(keySets, p, token, { nonce: NONCE, nowMs: NOW_MS, timeoutMs: 5000, ...check });
}

/** The rejection of `promise`, which must be a FletAuthError. */
async function refusal(promise: Promise<unknown>): Promise<FletAuthError> {
  const outcome = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(outcome, "the promise resolved").toBeInstanceOf(FletAuthError);
  return outcome as FletAuthError;
}

async function refusedBecause(promise: Promise<unknown>, why: string): Promise<FletAuthError> {
  const err = await refusal(promise);
  expect(err.code).toBe("id_token_invalid");
  expect(err.status).toBe(401);
  expect(err.message).toBe(`The ID token was refused: ${why}.`);
  return err;
}

describe("verifyIdToken: a good token", () => {
  it("resolves to the token's claims, frozen, with nothing added or dropped", async () => {
    const claims = good({ name: "Ada", nbf: NOW_S - 5 });
    const verified = await verify(await signRs256(claims, rsa));
    expect(verified).toEqual(claims);
    expect(Object.isFrozen(verified)).toBe(true);
  });

  it("is judged by the check's clock, not the wall clock (exp and iat an hour around nowMs)", async () => {
    // The wall clock is years before NOW_MS: this token is only valid at nowMs.
    await expect(verify(await signRs256(good({ iat: NOW_S - 3600, exp: NOW_S + 3600 }), rsa))).resolves.toMatchObject({ sub: "user-1" });
    await refusedBecause(verify(await signRs256(good(), rsa), { nowMs: NOW_MS + 3600_000 }), "it has expired");
  });

  it("tolerates 30 s of clock difference on exp and nbf, not 31", async () => {
    await expect(verify(await signRs256(good({ exp: NOW_S - 29 }), rsa))).resolves.toBeDefined();
    await refusedBecause(verify(await signRs256(good({ exp: NOW_S - 30 }), rsa)), "it has expired");
    await expect(verify(await signRs256(good({ nbf: NOW_S + 30 }), rsa))).resolves.toBeDefined();
    await refusedBecause(verify(await signRs256(good({ nbf: NOW_S + 31 }), rsa)), "its nbf check failed");
  });

  it("accepts the provider's other allowed algorithm (ES256) when the provider allows it", async () => {
    const p = provider({ idTokenSigningAlgorithms: ["ES256"] });
    const token = await new SignJWT(good()).setProtectedHeader({ alg: "ES256", kid: ec.kid }).sign(ec.privateKey);
    await expect(verify(token, {}, p)).resolves.toMatchObject({ sub: "user-1" });
    // …and only the provider's list counts: RS256 is refused by a provider that allows ES256 only.
    await refusedBecause(verify(await signRs256(good(), rsa), {}, p), "its algorithm is not allowed");
  });

  it("accepts a fractional timeoutMs (rounded up to jose's whole milliseconds)", async () => {
    await expect(verify(await signRs256(good(), rsa), { timeoutMs: 2500.5 })).resolves.toBeDefined();
  });
});

describe("verifyIdToken: refusals and their reasons", () => {
  it("no id_token in the token response: undefined, a non-string, or empty (and no cause, no JWKS fetch)", async () => {
    const before = jwks.hits;
    for (const token of [undefined, 42, ""]) {
      const err = await refusedBecause(verify(token), "the token response has no id_token");
      expect(err.cause).toBeUndefined();
    }
    expect(jwks.hits).toBe(before);
  });

  it("a provider without issuer, or without a JWKS URI", async () => {
    const token = await signRs256(good(), rsa);
    await refusedBecause(verify(token, {}, provider({ issuer: undefined })), "the provider has no issuer or JWKS");
    await refusedBecause(verify(token, {}, provider({ jwksUri: undefined })), "the provider has no issuer or JWKS");
  });

  it("alg none and HS256 keyed with the provider's public key: its algorithm is not allowed", async () => {
    await refusedBecause(verify(unsecuredJwt(good(), { kid: rsa.kid })), "its algorithm is not allowed");
    await refusedBecause(verify(await hs256WithPublicKey(good(), rsaPublicPem, rsa.kid)), "its algorithm is not allowed");
  });

  it("a changed payload, or another key under the provider's kid: its signature does not verify (with the jose error as cause)", async () => {
    const token = await signRs256(good(), rsa);
    const [header, , signature] = token.split(".");
    const tampered = `${header}.${Buffer.from(JSON.stringify(good({ sub: "mallory" }))).toString("base64url")}.${signature}`;
    const err = await refusedBecause(verify(tampered), "its signature does not verify");
    expect(err.cause).toBeInstanceOf(Error);
    expect((err.cause as Error).name).toBe("JWSSignatureVerificationFailed");
    await refusedBecause(verify(await signRs256(good(), { kid: rsa.kid, privateKey: (await strayKey()).privateKey })), "its signature does not verify");
  });

  it("a kid the JWKS does not have: no key of the provider's JWKS matches it", async () => {
    await refusedBecause(verify(await signRs256(good(), await strayKey("nobody-publishes-this"))), "no key of the provider's JWKS matches it");
  });

  it("iss, aud: their check failed", async () => {
    await refusedBecause(verify(await signRs256(good({ iss: `${jwks.issuer}/other` }), rsa)), "its iss check failed");
    await refusedBecause(verify(await signRs256(good({ aud: "another-client" }), rsa)), "its aud check failed");
  });

  it.each(["iss", "sub", "aud", "exp", "iat"])("a token without %s is refused", async (claim) => {
    await refusedBecause(verify(await signRs256(without(claim), rsa)), `its ${claim} check failed`);
  });

  it("not a JWT at all, or a JWS whose payload is not a claims set: it is not a valid JWT", async () => {
    await refusedBecause(verify("not.a.jwt"), "it is not a valid JWT");
    // A well-formed, signed JWS whose payload is a JSON array: jose's ERR_JWT_INVALID.
    const arrayPayload = await new CompactSign(new TextEncoder().encode("[1,2]")).setProtectedHeader({ alg: "RS256", kid: rsa.kid }).sign(rsa.privateKey);
    await refusedBecause(verify(arrayPayload), "it is not a valid JWT");
  });

  it("a JWKS that answers 500 or garbage: jose's own words, not a code", async () => {
    jwks.mode = "status-500";
    await refusedBecause(verify(await signRs256(good(), rsa)), "Expected 200 OK from the JSON Web Key Set HTTP response");
    jwks.mode = "not-json";
    await refusedBecause(verify(await signRs256(good(), rsa)), "Failed to parse the JSON Web Key Set HTTP response as JSON");
  });

  it("a JWKS that does not answer within timeoutMs: provider_timeout (504), not id_token_invalid", async () => {
    jwks.mode = "hang";
    const timeouts = vi.spyOn(AbortSignal, "timeout");
    const err = await refusal(verify(await signRs256(good(), rsa), { timeoutMs: 150 }));
    expect(err.code).toBe("provider_timeout");
    expect(err.status).toBe(504);
    expect(err.message).toBe("The provider's JWKS did not answer in time.");
    expect(err.cause).toBeInstanceOf(Error);
    // jose's deadline is the check's timeoutMs.
    expect(timeouts).toHaveBeenCalledWith(150);
  });
});

describe("verifyIdToken: azp (OpenID Connect Core §3.1.3.7 steps 4–5)", () => {
  it("one audience: no azp, or azp naming this client, passes; azp naming another client is refused", async () => {
    await expect(verify(await signRs256(good(), rsa))).resolves.toBeDefined();
    await expect(verify(await signRs256(good({ azp: CLIENT }), rsa))).resolves.toMatchObject({ azp: CLIENT });
    await refusedBecause(verify(await signRs256(good({ azp: "another-client" }), rsa)), "its azp is not this client");
  });

  it("several audiences: azp must be present and name this client", async () => {
    const aud = [CLIENT, "another-client"];
    await expect(verify(await signRs256(good({ aud, azp: CLIENT }), rsa))).resolves.toMatchObject({ aud });
    await refusedBecause(verify(await signRs256(good({ aud }), rsa)), "its azp is not this client");
    await refusedBecause(verify(await signRs256(good({ aud, azp: "another-client" }), rsa)), "its azp is not this client");
    // One audience, as an array: no azp needed.
    await expect(verify(await signRs256(good({ aud: [CLIENT] }), rsa))).resolves.toBeDefined();
  });
});

describe("verifyIdToken: nonce and a refreshed token's subject", () => {
  it("a login's nonce must be in the token, exactly", async () => {
    await refusedBecause(verify(await signRs256(good({ nonce: "another-login" }), rsa)), "its nonce does not belong to this login");
    await refusedBecause(verify(await signRs256(without("nonce"), rsa)), "its nonce does not belong to this login");
  });

  it("a refresh (no nonce expected): any nonce claim is ignored; the sub must be the original's", async () => {
    const refreshed = await signRs256(good({ nonce: "from-the-first-login" }), rsa);
    await expect(verify(refreshed, { nonce: undefined, subject: "user-1" })).resolves.toMatchObject({ sub: "user-1" });
    await expect(verify(refreshed, { nonce: undefined })).resolves.toBeDefined();
    await refusedBecause(verify(refreshed, { nonce: undefined, subject: "user-2" }), "a refreshed ID token names another subject");
  });

  it("with a nonce expected, the subject is not compared (a login has no original sub)", async () => {
    await expect(verify(await signRs256(good(), rsa), { subject: "someone-else" })).resolves.toMatchObject({ sub: "user-1" });
  });
});

describe("key sets: one per JWKS URI, jose's cooldown and cache age", () => {
  it("the key set is created once per JWKS URI and reused (one JWKS fetch for two verifications)", async () => {
    const keySets: KeySets = new Map();
    const p = provider();
    const before = jwks.hits;
    await verify(await signRs256(good(), rsa), {}, p, keySets);
    expect([...keySets.keys()]).toEqual([jwks.url]);
    const first = keySets.get(jwks.url);
    await verify(await signRs256(good({ sub: "user-2" }), rsa), {}, p, keySets);
    expect(keySets.get(jwks.url)).toBe(first);
    expect(jwks.hits).toBe(before + 1);
  });

  it("an unknown kid refetches the JWKS only after a 30 s cooldown; a key set is refetched after 600 s", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const start = Date.now();
    const keys = keySetFor(jwks.url, 5000);
    const before = jwks.hits;
    await keys.reload();
    expect(jwks.hits).toBe(before + 1);
    vi.setSystemTime(start + 29_999);
    expect(keys.coolingDown).toBe(true);
    vi.setSystemTime(start + 30_000);
    expect(keys.coolingDown).toBe(false);
    vi.setSystemTime(start + 599_999);
    expect(keys.fresh).toBe(true);
    vi.setSystemTime(start + 600_000);
    expect(keys.fresh).toBe(false);
  });

  it("keySetFor passes a fractional timeout rounded up", async () => {
    const timeouts = vi.spyOn(AbortSignal, "timeout");
    await keySetFor(jwks.url, 1234.2).reload();
    expect(timeouts).toHaveBeenCalledWith(1235);
  });
});

describe("issuerFor: Azure's {tenantid} template", () => {
  const template = "https://login.microsoftonline.com/{tenantid}/v2.0";
  const token = (claims: Claims): string => unsecuredJwt(claims);

  it("an issuer without the template is returned as is, whatever the token", () => {
    expect(issuerFor("https://accounts.example.com", "not a jwt")).toBe("https://accounts.example.com");
  });

  it("fills the template with the token's tid (1 to 64 letters, digits and dashes)", () => {
    expect(issuerFor(template, token({ tid: "9188040d-6c67-4c5b-b112-36a304b66dad" }))).toBe("https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0");
    expect(issuerFor(template, token({ tid: "a" }))).toBe("https://login.microsoftonline.com/a/v2.0");
    expect(issuerFor(template, token({ tid: "x".repeat(64) }))).toBe(`https://login.microsoftonline.com/${"x".repeat(64)}/v2.0`);
  });

  it.each([
    ["missing", {}],
    ["not a string", { tid: 42 }],
    ["empty", { tid: "" }],
    ["65 characters", { tid: "x".repeat(65) }],
    ["a slash inside", { tid: "tenant/../other" }],
    ["a slash at the start", { tid: "/tenant" }],
    ["a slash at the end", { tid: "tenant/" }],
  ])("a tid that is %s: refused (no tenant id)", (_name, claims) => {
    let thrown: unknown;
    try {
      issuerFor(template, token(claims as Claims));
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(FletAuthError);
    expect(thrown).toMatchObject({ code: "id_token_invalid", message: "The ID token was refused: it has no tenant id (tid)." });
  });

  it("a token that is not a JWT, with a template: it is not a JWT (with a cause)", () => {
    let thrown: unknown;
    try {
      issuerFor(template, "garbage");
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toMatchObject({ code: "id_token_invalid", message: "The ID token was refused: it is not a JWT." });
    expect((thrown as Error).cause).toBeInstanceOf(Error);
  });

  it("verifyIdToken expects the filled issuer: a token of tenant A verifies against the template; its iss of tenant B does not", async () => {
    const p = provider({ issuer: `${jwks.issuer}/{tenantid}/v2.0` });
    const iss = `${jwks.issuer}/tenant-a/v2.0`;
    await expect(verify(await signRs256(good({ iss, tid: "tenant-a" }), rsa), {}, p)).resolves.toMatchObject({ iss });
    await refusedBecause(verify(await signRs256(good({ iss, tid: "tenant-b" }), rsa), {}, p), "its iss check failed");
  });
});
