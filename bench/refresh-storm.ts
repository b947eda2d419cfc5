/**
 * Refresh storm: {@link STORM} concurrent requests of ONE signed-in session, each needing the
 * access token, arrive just after it expired. flet-auth's `getToken()` must make exactly one
 * refresh request to the provider for all of them; the figure is that count and the requests'
 * latency (p50 / p99 / max) while it happens.
 *
 *   node --import tsx bench/refresh-storm.ts     (env BENCH_STORM concurrency, default 100; BENCH_STORMS storms, default 5)
 *
 * Each storm: a fresh sign-in at oauth2-mock-server whose token answer says `expires_in: 1`, a
 * wait until the token has expired, then the concurrent `GET /token` (each on its own
 * connection), and the provider's count of `refresh_token` grants. For comparison the same storm
 * hits express-openid-connect with the pattern its documentation gives
 * (`if (accessToken.isExpired()) await accessToken.refresh()`), which has no single flight.
 */
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { send, signIn } from "./browser.js";
import { fixed, int, percentile, startProvider, startServer, type RunningProvider, type RunningServer } from "./common.js";
import { writePart, type StormVariant } from "./results.js";

const STORM = Number(process.env.BENCH_STORM ?? 100);
const STORMS = Number(process.env.BENCH_STORMS ?? 5);

interface Variant {
  readonly id: string;
  readonly label: string;
  readonly server: RunningServer;
  readonly loginPath: string;
}

async function storm(v: Variant, provider: RunningProvider): Promise<{ refreshCalls: number; latencies: number[]; failed: number }> {
  await provider.setCodeTokenTtl(1);
  const jar = await signIn(v.server.url, v.loginPath);
  await provider.setCodeTokenTtl(null);
  // expires_in: 1 → expired 1 s after the token answer; wait a little longer than that.
  await sleep(1_300);
  const cookie = jar.header();
  const before = await provider.stats();
  const latencies: number[] = [];
  let failed = 0;
  await Promise.all(
    Array.from({ length: STORM }, async () => {
      const t0 = performance.now();
      try {
        const answer = await send(`${v.server.url}/token`, { headers: { cookie } });
        if (answer.status !== 200 || !answer.body.includes('"accessTokenLength"')) failed += 1;
      } catch {
        failed += 1;
      }
      latencies.push(performance.now() - t0);
    }),
  );
  const after = await provider.stats();
  return { refreshCalls: after.refreshToken - before.refreshToken, latencies, failed };
}

async function main(): Promise<void> {
  const provider = await startProvider();
  const [flet, eoc] = await Promise.all([startServer("fletauth", provider.url), startServer("eoc", provider.url)]);
  try {
    const variants: Variant[] = [
      { id: "fletauth", label: "flet-auth, await req.auth.getToken()", server: flet, loginPath: "/login/idp" },
      { id: "eoc", label: "express-openid-connect, isExpired() → refresh() (its documented pattern)", server: eoc, loginPath: "/login" },
    ];
    const results: StormVariant[] = [];
    const calls: number[][] = variants.map(() => []);
    const latencies: number[][] = variants.map(() => []);
    const failed = variants.map(() => 0);
    for (let s = 0; s < STORMS; s++) {
      for (const [i, v] of variants.entries()) {
        const r = await storm(v, provider);
        calls[i]!.push(r.refreshCalls);
        latencies[i]!.push(...r.latencies);
        failed[i]! += r.failed;
      }
    }
    for (const [i, v] of variants.entries()) {
      const l = latencies[i]!;
      results.push({ id: v.id, label: v.label, refreshCalls: calls[i]!, p50Ms: percentile(l, 50), p99Ms: percentile(l, 99), maxMs: Math.max(...l), failed: failed[i]! });
    }
    writePart("refreshStorm", { concurrency: STORM, storms: STORMS, variants: results });

    console.log(`## Refresh storm: ${STORM} concurrent requests of one session on an expired token, ${STORMS} storms\n`);
    console.log("| variant | provider refresh calls per storm | latency p50 / p99 / max (ms) | failed |");
    console.log("|---|---:|---:|---:|");
    for (const r of results) {
      console.log(`| ${r.label} | ${r.refreshCalls.join(", ")} | ${fixed(r.p50Ms, 0)} / ${fixed(r.p99Ms, 0)} / ${fixed(r.maxMs, 0)} | ${r.failed} of ${int(STORM * STORMS)} |`);
    }
    const flets = results[0] as StormVariant;
    if (flets.refreshCalls.some((n) => n !== 1) || flets.failed > 0) {
      console.error("flet-auth: every storm must make exactly one refresh request and answer every request");
      process.exitCode = 1;
    }
  } finally {
    await Promise.all([flet.stop(), eoc.stop(), provider.stop()]);
  }
}

await main();
