/**
 * `npm run bench`: every benchmark, one after the other, each in its own process; their results
 * go to one JSON file (bench/results/latest.json, or BENCH_OUT), from which bench/report.ts draws
 * docs/performance.svg and writes docs/performance.md.
 *
 *   node --import tsx bench/run-all.ts
 *
 * Environment: BENCH_DURATION (s per round, default 3), BENCH_ROUNDS (default 3), BENCH_WARMUP
 * (s of load before every measured run of the per-request and remember-me benches, default 3),
 * BENCH_PIN=0 (the per-request bench's processes left to the scheduler, not pinned to CPUs),
 * BENCH_SESSIONS (memory bench, default 10000), BENCH_ANON_LOGINS (issue-9 bench, default 100000), BENCH_STORM / BENCH_STORMS (refresh storm, default 100 / 5), BENCH_ONLY (a
 * comma-separated subset, e.g. "overhead,signin"), BENCH_OUT (results file), BENCH_NO_REPORT=1
 * (leave docs/ alone).
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CONNECTIONS, DURATION, ROUNDS, SLICE, WARMUP } from "./common.js";
import { DEFAULT_RESULTS, gitState, machine, versions, type BenchRun, type Parts } from "./results.js";

/** Bench file → the part of the results it writes. */
const BENCHES: readonly (readonly [string, keyof Parts])[] = [
  ["overhead.ts", "requests"],
  ["signin.ts", "signIns"],
  ["refresh-storm.ts", "refreshStorm"],
  ["remember-me.ts", "rememberMe"],
  ["memory.ts", "memory"],
  ["anon-logins.ts", "anonLogins"],
  ["security-eventloop.ts", "eventLoop"],
];

const only = process.env.BENCH_ONLY?.split(",").map((s) => s.trim().replace(/\.ts$/, "")).filter((s) => s !== "");
const selected = BENCHES.filter(([file]) => only === undefined || only.includes(file.replace(/\.ts$/, "")));
const out = process.env.BENCH_OUT ?? DEFAULT_RESULTS;
const partDir = mkdtempSync(join(tmpdir(), "flet-auth-bench-"));
const startedAt = new Date();
const loadStart = loadavg();
const failures: string[] = [];

for (const [file] of selected) {
  console.log(`\n<!-- bench/${file} -->\n`);
  const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(new URL(`./${file}`, import.meta.url))], {
    stdio: "inherit",
    env: { ...process.env, BENCH_PART_DIR: partDir },
  });
  const [code] = (await once(child, "exit")) as [number | null];
  if (code !== 0) {
    console.error(`bench/${file} failed (exit ${String(code)})`);
    failures.push(file);
    process.exitCode = 1;
  }
}

const parts: Parts = {};
for (const [, key] of selected) {
  const path = join(partDir, `${key}.json`);
  if (existsSync(path)) Object.assign(parts, { [key]: JSON.parse(readFileSync(path, "utf8")) as unknown });
}
rmSync(partDir, { recursive: true, force: true });

const settings: Record<string, number> = {
  durationS: DURATION,
  rounds: ROUNDS,
  warmupS: WARMUP,
  // The warm-up precedes every measured run (bench/common.ts measureAll); older results warmed
  // every variant once at the start, and their page says so.
  warmupPerRun: 1,
  // Seconds per turn of a variant and its floor's twin (0: one run each, back to back; results
  // from before 2026-12-03 have no such key and measured that way).
  sliceS: SLICE,
  connections: CONNECTIONS,
  sessions: Number(process.env.BENCH_SESSIONS ?? 10_000),
  anonLogins: Number(process.env.BENCH_ANON_LOGINS ?? 100_000),
  storm: Number(process.env.BENCH_STORM ?? 100),
  storms: Number(process.env.BENCH_STORMS ?? 5),
};
const envPart = ["BENCH_DURATION", "BENCH_ROUNDS", "BENCH_WARMUP", "BENCH_SLICE", "BENCH_PIN", "BENCH_DIST", "BENCH_SESSIONS", "BENCH_ANON_LOGINS", "BENCH_STORM", "BENCH_STORMS", "BENCH_ONLY"]
  .filter((name) => process.env[name] !== undefined && process.env[name] !== "")
  .map((name) => `${name}=${process.env[name] ?? ""}`);
const finishedAt = new Date();
const run: BenchRun = {
  schema: 1,
  startedAt: startedAt.toISOString(),
  finishedAt: finishedAt.toISOString(),
  seconds: Math.round((finishedAt.getTime() - startedAt.getTime()) / 1000),
  settings,
  command: [...envPart, "npm run bench"].join(" "),
  machine: machine(loadStart),
  versions: versions(),
  git: gitState(),
  failures,
  ...parts,
};
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(run, null, 2)}\n`);
console.log(`\nResults: ${out}`);

if (process.env.BENCH_NO_REPORT !== "1") {
  const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(new URL("./report.ts", import.meta.url)), out], { stdio: "inherit" });
  const [code] = (await once(child, "exit")) as [number | null];
  if (code !== 0) process.exitCode = 1;
}
