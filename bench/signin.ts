/**
 * Full sign-in round trips per second against a third-party OpenID provider (oauth2-mock-server,
 * not flet-auth's own test fake): flet-auth and express-openid-connect, same provider, same
 * profile, same run.
 *
 *   node --import tsx bench/signin.ts        (env BENCH_DURATION seconds per round, BENCH_ROUNDS rounds)
 *
 * One sign-in is what a new browser does: the app's login route (302 to the provider), the
 * provider's authorize endpoint (the mock consents at once: 302 back), the app's callback (code
 * exchanged at the token endpoint, ID token verified, session written, 302/303 onwards).
 * {@link CONNECTIONS} browsers sign in concurrently, each with a fresh cookie jar per sign-in,
 * for the round's duration; variants are interleaved round by round and the median round kept.
 * Server CPU is the app process's; provider CPU the mock's (two RS256 signatures per token
 * answer). After every round one of the new sessions is checked to be signed in.
 */
import { performance } from "node:perf_hooks";
import { Jar, signIn } from "./browser.js";
import { CONNECTIONS, DURATION, fixed, int, median, me, percentile, ROUNDS, startProvider, startServer, type RunningProvider, type RunningServer } from "./common.js";
import { BENCH_PROFILE } from "./profile.js";
import { writePart, type SignInVariant } from "./results.js";

interface Variant {
  readonly id: string;
  readonly label: string;
  readonly server: RunningServer;
  readonly loginPath: string;
}

interface Round {
  readonly perSecond: number;
  readonly serverCpuUs: number;
  readonly providerCpuUs: number;
  readonly latencies: number[];
  readonly completed: number;
  readonly failed: number;
  readonly tokenCalls: number;
  readonly userinfoCalls: number;
}

async function round(variant: Variant, provider: RunningProvider, seconds: number): Promise<Round> {
  const latencies: number[] = [];
  let failed = 0;
  let lastJar: Jar | undefined;
  let firstError: unknown;
  const cpu0 = await variant.server.cpu();
  const p0 = await provider.stats();
  const start = performance.now();
  const deadline = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        try {
          lastJar = await signIn(variant.server.url, variant.loginPath);
          latencies.push(performance.now() - t0);
        } catch (err) {
          failed += 1;
          firstError ??= err;
        }
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  const cpu1 = await variant.server.cpu();
  const p1 = await provider.stats();
  if (firstError !== undefined) console.error(`${variant.id}: ${failed} sign-ins failed, the first with`, firstError);
  if (lastJar !== undefined) {
    const check = await me(variant.server, lastJar.header());
    if (!check.signedIn || check.user !== BENCH_PROFILE.sub) throw new Error(`${variant.id}: a completed sign-in is not signed in (${JSON.stringify(check)})`);
  }
  const completed = latencies.length;
  return {
    perSecond: completed / elapsed,
    serverCpuUs: (cpu1 - cpu0) / Math.max(1, completed),
    providerCpuUs: (p1.cpuUs - p0.cpuUs) / Math.max(1, completed),
    latencies,
    completed,
    failed,
    tokenCalls: p1.authorizationCode - p0.authorizationCode,
    userinfoCalls: p1.userinfo - p0.userinfo,
  };
}

async function main(): Promise<void> {
  const provider = await startProvider();
  const [flet, fletNoFetch, eoc] = await Promise.all([
    startServer("fletauth", provider.url),
    startServer("fletauth", provider.url, { env: { BENCH_FETCH_USER: "0" } }),
    startServer("eoc", provider.url),
  ]);
  try {
    const variants: Variant[] = [
      { id: "fletauth", label: "flet-auth (ID token verified + userinfo fetched, the default)", server: flet, loginPath: "/login/idp" },
      { id: "fletauth-nofetch", label: "flet-auth, fetchUser: false (ID token only, like express-openid-connect)", server: fletNoFetch, loginPath: "/login/idp" },
      { id: "eoc", label: "express-openid-connect (ID token verified, cookie session)", server: eoc, loginPath: "/login" },
    ];
    // Warm-up: JIT, the JWKS fetch, connection pools.
    for (const v of variants) await round(v, provider, Math.min(1, DURATION));
    const rounds: Round[][] = variants.map(() => []);
    for (let r = 0; r < ROUNDS; r++) {
      for (const [i, v] of variants.entries()) rounds[i]!.push(await round(v, provider, DURATION));
    }
    const results: SignInVariant[] = variants.map((v, i) => {
      const rs = rounds[i]!;
      const all = rs.flatMap((x) => x.latencies);
      const completed = rs.reduce((s, x) => s + x.completed, 0);
      return {
        id: v.id,
        label: v.label,
        perSecond: median(rs.map((x) => x.perSecond)),
        perSecondMin: Math.min(...rs.map((x) => x.perSecond)),
        perSecondMax: Math.max(...rs.map((x) => x.perSecond)),
        rounds: rs.map((x) => x.perSecond),
        serverCpuUs: median(rs.map((x) => x.serverCpuUs)),
        providerCpuUs: median(rs.map((x) => x.providerCpuUs)),
        p50Ms: percentile(all, 50),
        p99Ms: percentile(all, 99),
        completed,
        failed: rs.reduce((s, x) => s + x.failed, 0),
        tokenCallsPerSignIn: rs.reduce((s, x) => s + x.tokenCalls, 0) / Math.max(1, completed),
        userinfoCallsPerSignIn: rs.reduce((s, x) => s + x.userinfoCalls, 0) / Math.max(1, completed),
        ratio: 0,
      };
    });
    const base = results[0] as SignInVariant;
    const withRatio = results.map((r) => ({ ...r, ratio: r.perSecond / base.perSecond }));
    writePart("signIns", { concurrency: CONNECTIONS, variants: withRatio });

    console.log(`## Sign-in round trips against oauth2-mock-server (${CONNECTIONS} concurrent browsers, ${ROUNDS} × ${DURATION} s)\n`);
    console.log("| variant | sign-ins/s (median) | rounds min–max | vs flet-auth | server CPU µs/sign-in | provider CPU µs/sign-in | latency p50 / p99 (ms) | token / userinfo calls per sign-in | failed |");
    console.log("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (const r of withRatio) {
      console.log(
        `| ${r.label} | ${int(r.perSecond)} | ${int(r.perSecondMin)}–${int(r.perSecondMax)} | ${fixed(r.ratio, 2)}× | ${int(r.serverCpuUs)} | ${int(r.providerCpuUs)} | ${fixed(r.p50Ms, 0)} / ${fixed(r.p99Ms, 0)} | ${fixed(r.tokenCallsPerSignIn, 2)} / ${fixed(r.userinfoCallsPerSignIn, 2)} | ${r.failed} of ${int(r.completed + r.failed)} |`,
      );
    }
    if (withRatio.some((r) => r.failed > 0)) process.exitCode = 1;
  } finally {
    await Promise.all([flet.stop(), fletNoFetch.stop(), eoc.stop(), provider.stop()]);
  }
}

await main();
