/**
 * Issue 9: anonymous logins must cost the same per request however many came before, and leave
 * bounded memory behind.
 *
 *   node --import tsx bench/anon-logins.ts   (env BENCH_ANON_LOGINS, default 100000; BENCH_ANON_TIMEOUT_MS, default 30000)
 *
 * {@link CONNECTIONS} clients without cookies each `GET /login/idp` (a new session with a pending
 * login, and — the app's complete page being a function — a page-registry entry). Every
 * {@link CALLBACK_EVERY}th login comes back to the callback with its state and
 * `error=access_denied`: the state is claimed (the in-process claimed states and the store's
 * record) without any provider call; the others are abandoned, their page entries left behind.
 *
 * Per block of {@link BLOCK} logins: logins per second, the server's CPU µs per login, and its
 * heapUsed after a full GC (outside the timed part). `loginTimeoutMs` is shortened to
 * BENCH_ANON_TIMEOUT_MS so that, within the run, expired entries leave from the front as they do
 * in production after ten minutes; the caps (100,000 claimed states, 10,000 page entries, 100,000
 * store records) bound them whatever the timeout. The app's own session store keeps only the
 * newest 2,000 sessions here, so that the heap shows flet-auth's structures rather than
 * express-session's MemoryStore, which keeps every pending-login session (its size per session
 * is reported).
 */
import { performance } from "node:perf_hooks";
import { Jar } from "./browser.js";
import { CONNECTIONS, fixed, int, startProvider, startServer } from "./common.js";
import { writePart, type AnonBlock } from "./results.js";

const LOGINS = Number(process.env.BENCH_ANON_LOGINS ?? 100_000);
const LOGIN_TIMEOUT_MS = Number(process.env.BENCH_ANON_TIMEOUT_MS ?? 30_000);
const BLOCK = Math.max(1, Math.min(10_000, Math.floor(LOGINS / 10)));
const CALLBACK_EVERY = 2;
const STORE_CAP = 2_000;
const MiB = 2 ** 20;

async function main(): Promise<void> {
  const provider = await startProvider();
  const server = await startServer("fletauth", provider.url, {
    exposeGc: true,
    env: { BENCH_PAGE_FN: "1", BENCH_LOGIN_TIMEOUT_MS: String(LOGIN_TIMEOUT_MS), BENCH_STORE_CAP: String(STORE_CAP) },
  });
  let failed = 0;
  let firstError: unknown;
  const oneLogin = async (i: number): Promise<void> => {
    const jar = new Jar();
    const start = await jar.get(`${server.url}/login/idp?returnTo=/`);
    if (start.status !== 302 || start.location === undefined) throw new Error(`login answered ${start.status}`);
    if (i % CALLBACK_EVERY !== 0) return;
    const state = new URL(start.location).searchParams.get("state") ?? "";
    const back = await jar.get(`${server.url}/oauth_callback?state=${encodeURIComponent(state)}&error=access_denied`);
    if (back.status !== 403) throw new Error(`denied callback answered ${back.status}`);
  };
  try {
    // One pending-login session as the session store keeps it (the store is empty yet).
    await new Jar().get(`${server.url}/login/idp?returnTo=/`);
    const pendingSessionBytes = (await server.sessions()).bytes;
    // Warm-up (JIT), then the baseline heap.
    for (let i = 0; i < 500; i++) await oneLogin(i);
    const heapStart = await server.heap();
    const blocks: AnonBlock[] = [];
    let done = 0;
    while (done < LOGINS) {
      const size = Math.min(BLOCK, LOGINS - done);
      let next = done;
      const end = done + size;
      const cpu0 = await server.cpu();
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: CONNECTIONS }, async () => {
          while (next < end) {
            const i = next++;
            try {
              await oneLogin(i);
            } catch (err) {
              failed += 1;
              firstError ??= err;
            }
          }
        }),
      );
      const seconds = (performance.now() - t0) / 1000;
      const cpu1 = await server.cpu();
      done = end;
      const heap = await server.heap();
      const stored = await server.sessions();
      blocks.push({ upTo: done, perSecond: size / seconds, serverCpuUsPerLogin: (cpu1 - cpu0) / size, heapMiB: heap / MiB, storedSessions: stored.count });
      const b = blocks.at(-1) as AnonBlock;
      console.log(`  ${int(b.upTo)} logins: ${int(b.perSecond)}/s, ${int(b.serverCpuUsPerLogin)} µs CPU/login, heap ${fixed(b.heapMiB, 1)} MiB`);
    }
    if (firstError !== undefined) console.error(`${failed} logins failed, the first with`, firstError);
    writePart("anonLogins", {
      logins: LOGINS,
      blockSize: BLOCK,
      callbackEvery: CALLBACK_EVERY,
      loginTimeoutMs: LOGIN_TIMEOUT_MS,
      sessionStoreCap: STORE_CAP,
      blocks,
      failed,
      pendingSessionBytes,
      heapStartMiB: heapStart / MiB,
    });
    const first = blocks[0] as AnonBlock;
    const last = blocks.at(-1) as AnonBlock;
    console.log(`\n## Anonymous logins (issue 9): ${int(LOGINS)} logins, every ${CALLBACK_EVERY}nd denied at the callback, loginTimeoutMs ${int(LOGIN_TIMEOUT_MS)}\n`);
    console.log(`First ${int(BLOCK)}: ${int(first.serverCpuUsPerLogin)} µs CPU/login, ${int(first.perSecond)}/s; last ${int(BLOCK)}: ${int(last.serverCpuUsPerLogin)} µs CPU/login, ${int(last.perSecond)}/s (${fixed(last.serverCpuUsPerLogin / first.serverCpuUsPerLogin, 2)}× the CPU).`);
    console.log(`Heap after GC: ${fixed(heapStart / MiB, 1)} MiB at the start, ${fixed(Math.max(...blocks.map((b) => b.heapMiB)), 1)} MiB at most, ${fixed(last.heapMiB, 1)} MiB at the end. A pending-login session is ${int(pendingSessionBytes)} bytes in the session store. Failed: ${failed}.`);
    if (failed > 0) process.exitCode = 1;
  } finally {
    await Promise.all([server.stop(), provider.stop()]);
  }
}

await main();
