/**
 * Remember-me throughput (SPEC §4): how many returning browsers a process restores per second,
 * how many forged cookies it rejects per second, and the CPU cost of opening the cookie alone.
 *
 *   node --import tsx bench/remember-me.ts     (env BENCH_DURATION seconds per run, BENCH_ROUNDS rounds)
 *
 * Scenarios, same run, interleaved round by round, autocannon with 10 connections against a
 * server child each, the provider being oauth2-mock-server (bench/provider.ts):
 *   (a) express-session alone, no cookie — the floor (a returning browser has no session);
 *   (b) flet-auth (+ rememberMe), signed-out request without cookies;
 *   (c) restore: a valid remember-me cookie and no session cookie, so EVERY request performs a
 *       full restore: open the cookie, GET /userinfo at the provider, new session, re-sealed
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
import { signIn } from "./browser.js";
import { BENCH_REMEMBER_KEY, CONNECTIONS, fixed, int, machineNotes, me, measureAll, printTable, startProvider, startServer, withRatios, type AutocannonRequest, type RunningServer, type Measured, type RatioVariant } from "./common.js";
import { writePart } from "./results.js";

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

/**
 * A returning browser: each request sends the remember-me cookie the previous response rotated
 * to, and no session cookie, so every request is a complete restore with rotation, as a returning
 * browser's first request is. Replaying one cookie would not do: after the rotation grace of 10 s
 * a replayed cookie reads as stolen and its series is revoked. Since autocannon drops the
 * responses still in flight when a run ends (and with them the newest cookie), every run starts
 * from a fresh remembered sign-in (`renew`, outside the measured time). One autocannon instance
 * per browser (Scenario.perConnection).
 */
class ReturningBrowser {
  #cookie = "";
  readonly requests: AutocannonRequest[] = [
    {
      setupRequest: (req) => ({ ...req, headers: { ...req.headers, cookie: `${COOKIE}=${this.#cookie}` } }),
      onResponse: (_status, _body, _context, headers) => {
        // Raw header names, as the server wrote them.
        const setCookie = Object.entries(headers).find(([name]) => name.toLowerCase() === "set-cookie")?.[1];
        for (const line of Array.isArray(setCookie) ? setCookie : setCookie === undefined ? [] : [setCookie]) {
          if (!line.startsWith(`${COOKIE}=`)) continue;
          const value = line.slice(COOKIE.length + 1).split(";")[0] ?? "";
          if (value !== "") this.#cookie = value;
        }
      },
    },
  ];

  constructor(
    readonly server: RunningServer,
    readonly loginPath: string,
  ) {}

  /** A new remembered sign-in: its cookie is the next run's first. */
  async renew(): Promise<string> {
    const value = (await signIn(this.server.url, this.loginPath)).cookies.get(COOKIE);
    if (value === undefined) throw new Error(`${this.loginPath}: the login set no remember-me cookie`);
    this.#cookie = value;
    return value;
  }
}

/** Mean µs per awaited call of `op` over `n` calls, after a warm-up. */
async function microsPerCall(n: number, op: (i: number) => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 5_000; i++) await op(i);
  const start = performance.now();
  for (let i = 0; i < n; i++) await op(i);
  return ((performance.now() - start) * 1000) / n;
}

/** Σ (end − start) over snapshots taken as start, end, start, end, … */
async function sumOfPairs(marks: readonly Promise<number>[]): Promise<number> {
  const values = await Promise.all(marks);
  let sum = 0;
  for (let i = 0; i + 1 < values.length; i += 2) sum += (values[i + 1] as number) - (values[i] as number);
  return sum;
}

async function main(): Promise<void> {
  const provider = await startProvider();
  // One server child per scenario, so that (c)'s growing session store cannot slow the others.
  const floor = await startServer("session", provider.url);
  const signedOut = await startServer("fletauth-remember", provider.url);
  const restoring = await startServer("fletauth-remember", provider.url);
  const rejecting = await startServer("fletauth-remember", provider.url);
  const restoringNoFetch = await startServer("fletauth-remember", provider.url);
  let rows: Measured[];
  let variants: RatioVariant[];
  let restoresSeen = 0;
  let forgedReachedProvider = 0;
  let noFetchReachedProvider = 0;
  let cookieRaw: string;
  const providerCalls = async (): Promise<number> => {
    const s = await provider.stats();
    return s.authorize + s.authorizationCode + s.refreshToken + s.userinfo;
  };
  try {
    const restoreBrowsers = Array.from({ length: CONNECTIONS }, () => new ReturningBrowser(restoring, "/login/idp?remember=1"));
    const noFetchBrowsers = Array.from({ length: CONNECTIONS }, () => new ReturningBrowser(restoringNoFetch, "/signin-nofetch"));
    const renewAll = async (browsers: readonly ReturningBrowser[]): Promise<void> => {
      for (const b of browsers) await b.renew();
    };
    // One remembered sign-in of each kind checks that its cookie restores.
    cookieRaw = await new ReturningBrowser(restoring, "/login/idp?remember=1").renew();
    const noFetchCookie = await new ReturningBrowser(restoringNoFetch, "/signin-nofetch").renew();
    if (!(await me(restoring, `${COOKIE}=${cookieRaw}`)).signedIn) throw new Error("the remember-me cookie did not restore the sign-in");
    if (!(await me(restoringNoFetch, `${COOKIE}=${noFetchCookie}`)).signedIn) throw new Error("the fetchUser: false cookie did not restore");
    if ((await me(rejecting, `${COOKIE}=${encodeURIComponent(forged(64))}`)).signedIn) throw new Error("a forged cookie signed in");
    const size = Buffer.from(decodeURIComponent(cookieRaw), "base64url").length;

    // The provider's counters are read over IPC: snapshot them in onStart/onEnd (the snapshot is
    // taken right away, before the next request), add up the (start, end) pairs afterwards.
    const userinfoMarks: Promise<number>[] = [];
    const noFetchMarks: Promise<number>[] = [];
    const forgedMarks: Promise<number>[] = [];
    const userinfoMark = (): void => void userinfoMarks.push(provider.stats().then((st) => st.userinfo));
    const noFetchMark = (): void => void noFetchMarks.push(providerCalls());
    const forgedMark = (): void => void forgedMarks.push(providerCalls());
    variants = [
      { id: "floor", label: "(a) express-session alone, no cookie", floor: "signed-out", isFloor: true },
      { id: "signed-out", label: "(b) flet-auth (+ rememberMe), signed out, no cookies", floor: "signed-out" },
      { id: "restore", label: "(c) restore from the remember-me cookie, every request (incl. GET /userinfo at the provider)", floor: "signed-out", cookie: `${COOKIE}=${cookieRaw}` },
      { id: "restore-nofetch", label: "(c2) restore, login made with fetchUser: false (no provider call at all)", floor: "signed-out", cookie: `${COOKIE}=${noFetchCookie}` },
      { id: "forged", label: `(d) forged remember-me cookies (${int(FORGED_POOL)} distinct random Fernet-shaped values, cycled), rejected`, floor: "signed-out" },
    ];
    const forgedPool = Array.from({ length: FORGED_POOL }, () => ({ headers: { cookie: `${COOKIE}=${encodeURIComponent(forged(size))}` } }));
    rows = await measureAll([
      { name: variants[0]!.label, server: floor, options: { verifyBody: (b) => b.includes('"signedIn":false') } },
      { name: variants[1]!.label, server: signedOut, options: { verifyBody: (b) => b.includes('"signedIn":false') } },
      {
        name: variants[2]!.label,
        server: restoring,
        options: { verifyBody: (b) => b.includes('"signedIn":true') },
        perConnection: (i) => (restoreBrowsers[i] as ReturningBrowser).requests,
        prepare: () => renewAll(restoreBrowsers),
        onStart: userinfoMark,
        onEnd: userinfoMark,
      },
      {
        name: variants[3]!.label,
        server: restoringNoFetch,
        options: { verifyBody: (b) => b.includes('"signedIn":true') },
        perConnection: (i) => (noFetchBrowsers[i] as ReturningBrowser).requests,
        prepare: () => renewAll(noFetchBrowsers),
        onStart: noFetchMark,
        onEnd: noFetchMark,
      },
      {
        name: variants[4]!.label,
        server: rejecting,
        options: {
          // Pre-built so that autocannon (sharing the 2 cores) does not pay for a setupRequest per
          // request; the server keeps no memory of rejections, so cycling is as good as fresh values.
          requests: forgedPool,
          verifyBody: (b) => b.includes('"signedIn":false'),
        },
        onStart: forgedMark,
        onEnd: forgedMark,
      },
    ]);
    restoresSeen = await sumOfPairs(userinfoMarks);
    noFetchReachedProvider = await sumOfPairs(noFetchMarks);
    forgedReachedProvider = await sumOfPairs(forgedMarks);
  } finally {
    await Promise.all([floor.stop(), signedOut.stop(), restoring.stop(), rejecting.stop(), restoringNoFetch.stop(), provider.stop()]);
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

  const results = withRatios(variants, rows);
  const [a, b, c, , d] = rows as [Measured, Measured, Measured, Measured, Measured];
  writePart("rememberMe", {
    variants: results,
    restoresAtProvider: restoresSeen,
    restoreResponses: c.total,
    providerCallsNoFetch: noFetchReachedProvider,
    providerCallsForged: forgedReachedProvider,
    cookieChars: cookie.length,
    openUs,
    forgedUs,
    garbageUs,
    sealUs,
    loops: LOOP,
    keyDerivationMs: deriveMs,
  });
  console.log(`## Remember-me benchmark\n\n${machineNotes()}\n`);
  printTable(rows, a);
  console.log(`\nRestores actually performed during (c) (GET /userinfo at the provider): ${int(restoresSeen)} for ${int(c.total)} responses.`);
  console.log(`Requests that reached the provider during (c2): ${noFetchReachedProvider}; during (d): ${forgedReachedProvider}.`);
  console.log(`Restores per second: ${int(c.rps)}; forged cookies rejected per second: ${int(d.rps)} (signed-out flet-auth ${int(b.rps)}).`);
  if (noFetchReachedProvider !== 0 || forgedReachedProvider !== 0) process.exitCode = 1;
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
