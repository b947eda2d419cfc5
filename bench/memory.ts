/**
 * Memory per signed-in session, and the cookie a signed-in browser carries.
 *
 *   node --import tsx bench/memory.ts        (env BENCH_SESSIONS, default 10000)
 *
 * Each variant is a server child started with --expose-gc, on express-session's MemoryStore
 * (the default store). After a warm-up of 200 sign-ins the server's heapUsed is read after two
 * full collections, then BENCH_SESSIONS browsers sign in (10 at a time, each with its own jar),
 * and the heap is read again: (after − before) / sessions is the heap each signed-in session
 * keeps, everything included (session store entry, flet-auth's own store records and caches).
 * The session store's growth as JSON is given too.
 *
 * Variants: express-session alone with the bench profile in the session (the floor); passport
 * 0.7 with the same profile serialised into the session; flet-auth signed in at the provider
 * (sealed sign-in record: tokens, ID token, user); express-openid-connect (its default: the whole
 * session in an encrypted cookie, nothing on the server).
 */
import { performance } from "node:perf_hooks";
import { Jar, signIn } from "./browser.js";
import { CONNECTIONS, fixed, int, startProvider, startServer, type RunningServer } from "./common.js";
import { BENCH_PROFILE, BENCH_PROFILE_BYTES } from "./profile.js";
import { writePart, type MemoryVariant } from "./results.js";

const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 10_000);
const WARMUP = 200;

interface Variant {
  readonly id: string;
  readonly label: string;
  readonly server: RunningServer;
  readonly signIn: () => Promise<Jar>;
}

/** `n` sign-ins, {@link CONNECTIONS} at a time; resolves to the last jar. */
async function signIns(v: Variant, n: number): Promise<Jar> {
  let next = 0;
  let last: Jar | undefined;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (next < n) {
        next += 1;
        last = await v.signIn();
      }
    }),
  );
  if (last === undefined) throw new Error("no sign-in");
  return last;
}

async function measure(v: Variant): Promise<MemoryVariant> {
  await signIns(v, WARMUP);
  const heap0 = await v.server.heap();
  const store0 = await v.server.sessions();
  const t0 = performance.now();
  const jar = await signIns(v, SESSIONS);
  const seconds = (performance.now() - t0) / 1000;
  const heap1 = await v.server.heap();
  const store1 = await v.server.sessions();
  const cookie = jar.header();
  const check = await fetch(`${v.server.url}/me`, { headers: { cookie } });
  if (!((await check.json()) as { signedIn: boolean }).signedIn) throw new Error(`${v.id}: the last sign-in is not signed in`);
  return {
    id: v.id,
    label: v.label,
    sessions: SESSIONS,
    heapBytesPerSession: (heap1 - heap0) / SESSIONS,
    storeBytesPerSession: (store1.bytes - store0.bytes) / SESSIONS,
    cookieBytes: Buffer.byteLength(cookie),
    cookieNames: [...jar.cookies.keys()],
    seconds,
  };
}

async function main(): Promise<void> {
  const provider = await startProvider();
  const kinds = ["session", "passport", "fletauth", "eoc"] as const;
  const servers = await Promise.all(kinds.map((k) => startServer(k, provider.url, { exposeGc: true })));
  const [sessionOnly, passportApp, flet, eoc] = servers as [RunningServer, RunningServer, RunningServer, RunningServer];
  try {
    const variants: Variant[] = [
      {
        id: "session",
        label: `express-session alone, the ${BENCH_PROFILE_BYTES}-byte profile in the session`,
        server: sessionOnly,
        signIn: async () => {
          const jar = new Jar();
          await jar.get(`${sessionOnly.url}/signin-session`);
          return jar;
        },
      },
      {
        id: "passport",
        label: "passport 0.7 + express-session, the same profile serialised",
        server: passportApp,
        signIn: async () => {
          const jar = new Jar();
          const answer = await jar.postForm(`${passportApp.url}/signin-passport`, { username: BENCH_PROFILE.email, password: "bench-password" });
          if (answer.status !== 200) throw new Error(`passport sign-in answered ${answer.status}`);
          return jar;
        },
      },
      { id: "fletauth", label: "flet-auth, signed in at the provider (tokens, ID token, user)", server: flet, signIn: () => signIn(flet.url, "/login/idp") },
      { id: "eoc", label: "express-openid-connect (session in an encrypted cookie)", server: eoc, signIn: () => signIn(eoc.url, "/login") },
    ];
    const results: MemoryVariant[] = [];
    for (const v of variants) results.push(await measure(v));
    writePart("memory", { variants: results });

    console.log(`## Memory per signed-in session (${int(SESSIONS)} sessions, MemoryStore, heapUsed after GC)\n`);
    console.log("| variant | heap bytes / session | session store (+ flet-auth store) bytes / session | Cookie header bytes (cookies) | sign-ins took |");
    console.log("|---|---:|---:|---:|---:|");
    for (const r of results) {
      console.log(`| ${r.label} | ${int(r.heapBytesPerSession)} | ${int(r.storeBytesPerSession)} | ${int(r.cookieBytes)} (${r.cookieNames.join(", ")}) | ${fixed(r.seconds, 1)} s |`);
    }
  } finally {
    await Promise.all([...servers.map((s) => s.stop()), provider.stop()]);
  }
}

await main();
