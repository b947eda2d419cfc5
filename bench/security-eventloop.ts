/**
 * Does Flet-compatible decrypt keep a server responsive? Measures event-loop delay while 16
 * decrypts (600 000 PBKDF2 iterations each) run async vs sync, and the sealer's throughput.
 *
 *   node --import tsx bench/security-eventloop.ts
 */
import { randomBytes } from "node:crypto";
import { availableParallelism } from "node:os";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { setImmediate as yieldToLoop, setTimeout as sleep } from "node:timers/promises";
import { clearDerivedKeyCache } from "../lib/crypto/keys.js";
import { decrypt, decryptSync, encrypt } from "../lib/crypto/security.js";
import { createSealer, type Sealer } from "../lib/crypto/sealer.js";
import { writePart } from "./results.js";

const N = 16;
const SECRET = "bench-secret-key-0123456789abcdef";

interface Delay {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly wall: number;
}

/** Event-loop delay (ms) sampled every 1 ms while `work` runs. */
async function measure(work: () => Promise<unknown>): Promise<Delay> {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  const start = performance.now();
  await work();
  const wall = performance.now() - start;
  histogram.disable();
  const ms = (ns: number): number => ns / 1e6;
  return { p50: ms(histogram.percentile(50)), p99: ms(histogram.percentile(99)), max: ms(histogram.max), wall };
}

/** Calls per second of `op` over a 1-second measured loop, after a warm-up. */
async function perSecond(op: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 2000; i++) await op();
  let count = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < 1000) {
    await op();
    count++;
    elapsed = performance.now() - start;
  }
  return (count / elapsed) * 1000;
}

function tamper(token: string): string {
  const raw = Buffer.from(token, "base64url");
  raw[raw.length - 1] = (raw[raw.length - 1] as number) ^ 0x01; // last MAC byte
  return raw.toString("base64url");
}

async function expectOpen(sealer: Sealer, data: string, expected: string | undefined): Promise<void> {
  if ((await sealer.open(data)) !== expected) throw new Error("sealer bench: unexpected open result");
}

const f = (n: number): string => n.toFixed(1);
const x = (n: number, base: number): string => `${(n / base).toFixed(1)}×`;

async function main(): Promise<void> {
  // 16 distinct blobs (distinct salts), so every decrypt really pays for its PBKDF2.
  const blobs = await Promise.all(Array.from({ length: N }, (_, i) => encrypt(`token-${i}`, SECRET)));

  const idle = await measure(() => sleep(2000));
  clearDerivedKeyCache();
  const async16 = await measure(() => Promise.all(blobs.map((b) => decrypt(b, SECRET))));
  clearDerivedKeyCache();
  // One decryptSync per loop turn, like 16 requests served one after another.
  const sync16 = await measure(async () => {
    for (const b of blobs) {
      decryptSync(b, SECRET);
      await yieldToLoop();
    }
  });

  const tokenJson = JSON.stringify({
    access_token: randomBytes(150).toString("base64url"),
    scope: ["openid", "profile", "email", "offline_access"],
    token_type: "Bearer",
    expires_in: 86400,
    expires_at: 1767312000,
    refresh_token: randomBytes(40).toString("base64url"),
  });
  const sealer = createSealer(SECRET, "session-token");
  const rotated = createSealer(["new-secret-0123456789abcdef0123", SECRET], "session-token");
  await Promise.all([sealer.ready(), rotated.ready()]);
  const sealed = await sealer.seal(tokenJson);
  const forged = tamper(sealed);
  await expectOpen(sealer, sealed, tokenJson);
  await expectOpen(sealer, forged, undefined);
  const opens = await perSecond(() => sealer.open(sealed));
  const rotatedOpens = await perSecond(() => rotated.open(sealed));
  const rejects = await perSecond(() => sealer.open(forged));
  const rotatedRejects = await perSecond(() => rotated.open(forged));

  const elRow = (label: string, d: Delay, wall: boolean): { label: string; p50Ms: number; p99Ms: number; maxMs: number; wallMs: number | null } => ({
    label,
    p50Ms: d.p50,
    p99Ms: d.p99,
    maxMs: d.max,
    wallMs: wall ? d.wall : null,
  });
  writePart("eventLoop", {
    decrypts: N,
    rows: [elRow("idle baseline (2 s)", idle, false), elRow(`${N} × decrypt concurrently`, async16, true), elRow(`${N} × decryptSync back to back`, sync16, true)],
    sealer: [
      { label: "open valid token", perSecond: opens },
      { label: "open valid token, 2 secrets, sealed by the second (rotation)", perSecond: rotatedOpens },
      { label: "reject forged token (bad MAC)", perSecond: rejects },
      { label: "reject forged token, 2 secrets (both tried)", perSecond: rotatedRejects },
    ],
    tokenBytes: Buffer.byteLength(tokenJson),
  });

  console.log(`Node ${process.version}, ${availableParallelism()} CPUs, UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? "4 (default)"}`);
  console.log(`\n### Event-loop delay (ms), ${N} decrypts at 600 000 PBKDF2 iterations\n`);
  console.log("| scenario | p50 | p99 | max | wall for 16 | p99 vs idle | max vs idle |");
  console.log("|---|---:|---:|---:|---:|---:|---:|");
  const row = (name: string, d: Delay, wall: string): void =>
    console.log(`| ${name} | ${f(d.p50)} | ${f(d.p99)} | ${f(d.max)} | ${wall} | ${x(d.p99, idle.p99)} | ${x(d.max, idle.max)} |`);
  row("idle baseline (2 s)", idle, "–");
  row("16 × `decrypt` concurrently", async16, `${f(async16.wall)} ms`);
  row("16 × `decryptSync` back to back", sync16, `${f(sync16.wall)} ms`);

  console.log(`\n### Sealer (key derived once), token JSON of ${Buffer.byteLength(tokenJson)} bytes, sealed ${sealed.length} chars\n`);
  console.log("| operation | per second | µs each |");
  console.log("|---|---:|---:|");
  for (const [name, rate] of [
    ["open valid token", opens],
    ["open valid token, 2 secrets, sealed by the second (rotation)", rotatedOpens],
    ["reject forged token (bad MAC)", rejects],
    ["reject forged token, 2 secrets (both tried)", rotatedRejects],
  ] as const) {
    console.log(`| ${name} | ${Math.round(rate).toLocaleString("en-US")} | ${f(1e6 / rate)} |`);
  }
}

await main();
