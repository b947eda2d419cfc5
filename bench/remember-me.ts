/**
 * Remember-me throughput (SPEC §4): how many returning browsers a process restores per second,
 * how many forged cookies it rejects per second, and the CPU cost of opening the cookie alone.
 *
 *   node --import tsx bench/remember-me.ts     (env BENCH_DURATION seconds per run, BENCH_ROUNDS rounds)
 *
 * Scenarios, same machine, same run, autocannon with 10 connections against a server child:
 *   (a) bare Express route, no middleware — the baseline;
 *   (b) express-session + fletAuth (+ rememberMe), signed-out request without cookies;
 *   (c) restore: a valid remember-me cookie and no session cookie, so EVERY request performs a
 *       full restore: open the cookie, GET /userinfo at the fake provider, new session, re-sealed
 *       cookie, session saved;
 *   (c2) the same, for a login made with `fetchUser: false`: a restore without any provider call,
 *       i.e. flet-auth's own cost (cookie open, session regenerate, two seals, session save);
 *   (d) a random Fernet-shaped forged cookie per request (no session): rejected and cleared. The
 *       values come from a pool of 1 000 distinct forgeries cycled by autocannon: generating one
 *       per request in autocannon's setupRequest costs the load generator more CPU than the
 *       server spends rejecting it, and on 2 cores that showed up as a 30 % lower rate.
 * Then (c') the cookie open alone, without HTTP: 100 000 `open()` calls of the real cookie value
 * on a sealer with purpose "remember-me" after `ready()`, and 100 000 forged rejections.
 */
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { createSealer } from "../lib/crypto/sealer.js";
import { startFakeProvider } from "../test/helpers/fake-provider.js";
import {
  BENCH_REMEMBER_KEY,
  fixed,
  int,
  login,
  machineNotes,
  me,
  measureAll,
  printTable,
  startServer,
  type Measured,
} from "./common.js";

const COOKIE = "flet-auth.remember";
const LOOP = 100_000;
const FORGED_POOL = 1_000;
const THIRTY_DAYS_S = 30 * 86_400;

/** Fernet-shaped bytes of `length` bytes: version 0x80, a current timestamp, random rest (bad MAC). */
function forged(length: number): string {
  const bytes = randomBytes(length);
  bytes[0] = 0x80;
  bytes.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000)), 1);
  const text = bytes.toString("base64url");
  return `${text}${"=".repeat((4 - (text.length % 4)) % 4)}`;
}

/** Mean µs per awaited call of `op` over `n` calls, after a warm-up. */
async function microsPerCall(n: number, op: (i: number) => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 5_000; i++) await op(i);
  const start = performance.now();
  for (let i = 0; i < n; i++) await op(i);
  return ((performance.now() - start) * 1000) / n;
}

async function main(): Promise<void> {
  const fake = await startFakeProvider({ accessTokenTtl: 3600 });
  // One server child per scenario, so that (c)'s growing session store cannot slow the others.
  const bare = await startServer("bare", fake.url);
  const signedOut = await startServer("fletauth-remember", fake.url);
  const restoring = await startServer("fletauth-remember", fake.url);
  const rejecting = await startServer("fletauth-remember", fake.url);
  const restoringNoFetch = await startServer("fletauth-remember", fake.url);
  let rows: Measured[];
  let restoresSeen = 0;
  let forgedReachedProvider = 0;
  let noFetchReachedProvider = 0;
  let cookieRaw: string;
  try {
    const jar = await login(restoring, fake, "/login/idp?remember=1");
    cookieRaw = jar[COOKIE] ?? "";
    if (cookieRaw === "") throw new Error("the login set no remember-me cookie");
    const header = `${COOKIE}=${cookieRaw}`;
    if (!(await me(restoring, header)).signedIn) throw new Error("the remember-me cookie did not restore the sign-in");
    if ((await me(rejecting, `${COOKIE}=${encodeURIComponent(forged(64))}`)).signedIn) throw new Error("a forged cookie signed in");
    const size = Buffer.from(decodeURIComponent(cookieRaw), "base64url").length;
    const noFetchCookie = (await login(restoringNoFetch, fake, "/signin-nofetch"))[COOKIE];
    if (noFetchCookie === undefined) throw new Error("the fetchUser: false login set no remember-me cookie");
    const noFetchHeader = `${COOKIE}=${noFetchCookie}`;
    if (!(await me(restoringNoFetch, noFetchHeader)).signedIn) throw new Error("the fetchUser: false cookie did not restore");

    let userinfo = 0;
    let requestsAtProvider = 0;
    let providerNoFetch = 0;
    rows = await measureAll([
      { name: "(a) bare Express, no middleware", server: bare, options: {} },
      {
        name: "(b) express-session + fletAuth, signed out, no cookies",
        server: signedOut,
        options: { verifyBody: (b) => b.includes('"signedIn":false') },
      },
      {
        name: "(c) restore from the remember-me cookie, every request (incl. GET /userinfo at the fake)",
        server: restoring,
        options: { headers: { cookie: header }, verifyBody: (b) => b.includes('"signedIn":true') },
        onStart: () => void (userinfo = fake.count("/userinfo")),
        onEnd: () => void (restoresSeen += fake.count("/userinfo") - userinfo),
      },
      {
        name: "(c2) restore, login made with fetchUser: false (no provider call at all)",
        server: restoringNoFetch,
        options: { headers: { cookie: noFetchHeader }, verifyBody: (b) => b.includes('"signedIn":true') },
        onStart: () => void (providerNoFetch = fake.requests.length),
        onEnd: () => void (noFetchReachedProvider += fake.requests.length - providerNoFetch),
      },
      {
        name: `(d) forged remember-me cookies (${int(FORGED_POOL)} distinct random Fernet-shaped values, cycled), rejected`,
        server: rejecting,
        options: {
          // Pre-built so that autocannon (sharing the 2 cores) does not pay for a setupRequest per
          // request; the server keeps no memory of rejections, so cycling is as good as fresh values.
          requests: Array.from({ length: FORGED_POOL }, () => ({ headers: { cookie: `${COOKIE}=${encodeURIComponent(forged(size))}` } })),
          verifyBody: (b) => b.includes('"signedIn":false'),
        },
        onStart: () => void (requestsAtProvider = fake.requests.length),
        onEnd: () => void (forgedReachedProvider += fake.requests.length - requestsAtProvider),
      },
    ]);
  } finally {
    await Promise.all([bare.stop(), signedOut.stop(), restoring.stop(), rejecting.stop(), restoringNoFetch.stop()]);
    await fake.close();
  }

  // (c') the cookie open alone, in this process.
  const cookie = decodeURIComponent(cookieRaw);
  const sealer = createSealer(BENCH_REMEMBER_KEY, "remember-me");
  const deriveStart = performance.now();
  await sealer.ready();
  const deriveMs = performance.now() - deriveStart;
  if ((await sealer.open(cookie, { ttlSeconds: THIRTY_DAYS_S })) === undefined) throw new Error("the real cookie does not open");
  const size = Buffer.from(cookie, "base64url").length;
  const forgeries = Array.from({ length: 1024 }, () => forged(size));
  const garbage = Array.from({ length: 1024 }, () => randomBytes(size).toString("base64"));
  for (const f of forgeries) if ((await sealer.open(f, { ttlSeconds: THIRTY_DAYS_S })) !== undefined) throw new Error("a forgery opened");
  const openUs = await microsPerCall(LOOP, () => sealer.open(cookie, { ttlSeconds: THIRTY_DAYS_S }));
  const forgedUs = await microsPerCall(LOOP, (i) => sealer.open(forgeries[i % forgeries.length] as string, { ttlSeconds: THIRTY_DAYS_S }));
  const garbageUs = await microsPerCall(LOOP, (i) => sealer.open(garbage[i % garbage.length] as string, { ttlSeconds: THIRTY_DAYS_S }));
  const plaintext = (await sealer.open(cookie)) ?? "";
  const sealUs = await microsPerCall(LOOP / 10, () => sealer.seal(plaintext));

  const [a, b, c, , d] = rows as [Measured, Measured, Measured, Measured, Measured];
  console.log(`## Remember-me benchmark\n\n${machineNotes()}\n`);
  printTable(rows, a);
  console.log(`\nRestores actually performed during (c) (GET /userinfo at the fake): ${int(restoresSeen)} for ${int(c.total)} responses.`);
  console.log(`Requests that reached the provider during (c2): ${noFetchReachedProvider}; during (d): ${forgedReachedProvider}.`);
  console.log(`Restores per second: ${int(c.rps)}; forged cookies rejected per second: ${int(d.rps)} (signed-out baseline ${int(b.rps)}).`);
  console.log(`\n### Cookie open alone (sealer "remember-me", key derived once), cookie ${int(cookie.length)} chars\n`);
  console.log("| operation | µs each | per second (one core) |");
  console.log("|---|---:|---:|");
  const line = (name: string, us: number): void => console.log(`| ${name} | ${fixed(us, 2)} | ${int(1e6 / us)} |`);
  line(`open() of the real cookie, ${int(LOOP)} calls`, openUs);
  line(`open() of a forged Fernet-shaped cookie (HMAC checked, rejected), ${int(LOOP)} calls`, forgedUs);
  line(`open() of non-Fernet garbage (rejected before any crypto), ${int(LOOP)} calls`, garbageUs);
  line(`seal() of the same payload (the restore re-writes the cookie), ${int(LOOP / 10)} calls`, sealUs);
  console.log(`\nFor contrast, the one-time key derivation at startup (PBKDF2-HMAC-SHA256, 600 000 iterations): ${fixed(deriveMs, 0)} ms.`);
}

await main();
