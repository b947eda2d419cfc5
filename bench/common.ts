/**
 * Shared pieces of the HTTP benchmarks: each app under test runs in its own child process
 * (bench/server.ts), so the load generator (autocannon, in this process) and the app do not
 * share one event loop; a login through the fake provider; autocannon runs with the server's
 * CPU time per request; markdown tables.
 */
import { fork, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createRequire } from "node:module";
import { availableParallelism, cpus } from "node:os";
import { fileURLToPath } from "node:url";
import type { FakeProvider } from "../test/helpers/fake-provider.js";

/** The subset of autocannon's programmatic API used here (the package ships no types). */
export interface AutocannonRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  setupRequest?: (req: { headers?: Record<string, string>; [k: string]: unknown }) => unknown;
}

export interface AutocannonOptions {
  url: string;
  connections?: number;
  duration?: number;
  headers?: Record<string, string>;
  requests?: AutocannonRequest[];
  verifyBody?: (body: string) => boolean;
}

interface Histogram {
  average: number;
  stddev: number;
  p50: number;
  p99: number;
  total: number;
}

export interface AutocannonResult {
  requests: Histogram;
  latency: Histogram;
  errors: number;
  timeouts: number;
  non2xx: number;
  mismatches: number;
  duration: number;
  "2xx": number;
}

const require = createRequire(import.meta.url);
const autocannon = require("autocannon") as (options: AutocannonOptions) => Promise<AutocannonResult>;

export const BENCH_SECRET = "bench-session-secret-0123456789abcdef";
export const BENCH_REMEMBER_KEY = "bench-remember-key-0123456789abcdef0";

/** Seconds per measured run (env BENCH_DURATION, 2–5 recommended). */
export const DURATION = Number(process.env.BENCH_DURATION ?? 3);
export const CONNECTIONS = 10;

/** What the server child can be. */
export type ServerKind = "bare" | "session" | "fletauth" | "fletauth-remember";

export interface RunningServer {
  readonly url: string;
  /** CPU time (user + system, µs) the server process has used so far. */
  cpu(): Promise<number>;
  stop(): Promise<void>;
}

/** Starts bench/server.ts as a child process and waits until it listens. */
export async function startServer(kind: ServerKind, fakeUrl: string, env: Record<string, string> = {}): Promise<RunningServer> {
  const child: ChildProcess = fork(fileURLToPath(new URL("./server.ts", import.meta.url)), [kind], {
    execArgv: ["--import", "tsx"],
    env: { ...process.env, ...env, FAKE_URL: fakeUrl, NODE_ENV: "development" },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const [message] = (await Promise.race([
    once(child, "message"),
    once(child, "exit").then(([code]) => {
      throw new Error(`bench server ${kind} exited (${String(code)}) before listening`);
    }),
  ])) as [{ port: number }];
  const url = `http://127.0.0.1:${message.port}`;
  return {
    url,
    async cpu() {
      const res = await fetch(`${url}/__cpu`);
      const body = (await res.json()) as { user: number; system: number };
      return body.user + body.system;
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = once(child, "exit");
      child.kill("SIGTERM");
      await exited;
    },
  };
}

/** Rounds per scenario (env BENCH_ROUNDS); scenarios are interleaved round by round and the median kept. */
export const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

/** One scenario to measure. */
export interface Scenario {
  readonly name: string;
  readonly server: RunningServer;
  readonly options: Omit<AutocannonOptions, "url" | "connections" | "duration"> & { path?: string };
  /** Called right before and after each measured run (not the warm-up), e.g. to count provider calls. */
  readonly onStart?: () => void;
  readonly onEnd?: () => void;
}

/** One measured scenario: medians over the rounds. */
export interface Measured {
  readonly name: string;
  /** Median of the rounds' mean requests/s. */
  readonly rps: number;
  /** Lowest and highest round. */
  readonly rpsMin: number;
  readonly rpsMax: number;
  /** Responses over all measured rounds. */
  readonly total: number;
  readonly p50: number;
  readonly p99: number;
  /** Server CPU µs per request (whole process: Express, session, flet-auth, GC), median of the rounds. */
  readonly cpuUs: number;
  /** Responses that were not 2xx, transport errors, timeouts, and bodies verifyBody refused. */
  readonly bad: number;
}

interface Round {
  rps: number;
  total: number;
  p50: number;
  p99: number;
  cpuUs: number;
  bad: number;
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

async function runOnce(scenario: Scenario, duration: number): Promise<Round> {
  const { path = "/me", ...rest } = scenario.options;
  const url = `${scenario.server.url}${path}`;
  const cpuBefore = await scenario.server.cpu();
  scenario.onStart?.();
  const result = await autocannon({ url, connections: CONNECTIONS, duration, ...rest });
  scenario.onEnd?.();
  const cpuAfter = await scenario.server.cpu();
  const total = result["2xx"] + result.non2xx;
  return {
    rps: result.requests.average,
    total,
    p50: result.latency.p50,
    p99: result.latency.p99,
    cpuUs: total === 0 ? Number.NaN : (cpuAfter - cpuBefore) / total,
    bad: result.non2xx + result.errors + result.timeouts + result.mismatches,
  };
}

/**
 * Warms every scenario up (1 s), then measures them interleaved — a, b, c, a, b, c, … — for
 * {@link ROUNDS} rounds of {@link DURATION} seconds, so that load from elsewhere on a shared
 * machine hits every scenario alike; reports medians.
 */
export async function measureAll(scenarios: readonly Scenario[]): Promise<Measured[]> {
  for (const s of scenarios) {
    const { path = "/me", ...rest } = s.options;
    await autocannon({ url: `${s.server.url}${path}`, connections: CONNECTIONS, duration: 1, ...rest });
  }
  const rounds: Round[][] = scenarios.map(() => []);
  for (let r = 0; r < ROUNDS; r++) {
    for (const [i, s] of scenarios.entries()) rounds[i]!.push(await runOnce(s, DURATION));
  }
  return scenarios.map((s, i) => {
    const rs = rounds[i]!;
    return {
      name: s.name,
      rps: median(rs.map((x) => x.rps)),
      rpsMin: Math.min(...rs.map((x) => x.rps)),
      rpsMax: Math.max(...rs.map((x) => x.rps)),
      total: rs.reduce((sum, x) => sum + x.total, 0),
      p50: median(rs.map((x) => x.p50)),
      p99: median(rs.map((x) => x.p99)),
      cpuUs: median(rs.map((x) => x.cpuUs)),
      bad: rs.reduce((sum, x) => sum + x.bad, 0),
    };
  });
}

/** Cookie jar helpers for fetch: raw values exactly as Set-Cookie gave them. */
export function absorb(jar: Record<string, string>, res: Response): void {
  for (const line of res.headers.getSetCookie()) {
    const pair = line.split(";")[0] ?? "";
    const eq = pair.indexOf("=");
    const value = pair.slice(eq + 1);
    if (value === "") delete jar[pair.slice(0, eq)];
    else jar[pair.slice(0, eq)] = value;
  }
}

export function cookieHeader(jar: Readonly<Record<string, string>>): string {
  return Object.entries(jar)
    .map(([k, v]) => `${k}=${v}`)
    .join("; ");
}

/** A real sign-in through the fake provider; returns the cookies the browser ends up with. */
export async function login(server: RunningServer, fake: FakeProvider, loginPath: string): Promise<Record<string, string>> {
  const jar: Record<string, string> = {};
  const start = await fetch(`${server.url}${loginPath}`, { redirect: "manual" });
  if (start.status !== 302) throw new Error(`login start answered ${start.status}: ${await start.text()}`);
  absorb(jar, start);
  const callback = new URL(await fake.authorize(start.headers.get("location") ?? ""));
  const done = await fetch(`${server.url}${callback.pathname}${callback.search}`, { redirect: "manual", headers: { cookie: cookieHeader(jar) } });
  await done.arrayBuffer();
  if (done.status >= 400) throw new Error(`callback answered ${done.status}`);
  absorb(jar, done);
  return jar;
}

/** GET /me with cookies → the JSON body. */
export async function me(server: RunningServer, cookie: string | undefined): Promise<{ signedIn: boolean; user: string | null }> {
  const res = await fetch(`${server.url}/me`, cookie === undefined ? {} : { headers: { cookie } });
  return (await res.json()) as { signedIn: boolean; user: string | null };
}

export const int = (n: number): string => Math.round(n).toLocaleString("en-US");
export const fixed = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : "–");

/** Prints a markdown table of `rows` with ratios against `base` (requests/s). */
export function printTable(rows: readonly Measured[], base: Measured): void {
  console.log("| scenario | req/s (median) | rounds min–max | vs baseline | latency p50 / p99 (ms) | server CPU µs/req | bad responses |");
  console.log("|---|---:|---:|---:|---:|---:|---:|");
  for (const r of rows) {
    console.log(
      `| ${r.name} | ${int(r.rps)} | ${int(r.rpsMin)}–${int(r.rpsMax)} | ${fixed(r.rps / base.rps, 2)}× | ${r.p50} / ${r.p99} | ${fixed(r.cpuUs, 0)} | ${r.bad} of ${int(r.total)} |`,
    );
  }
}

export function machineNotes(): string {
  const model = cpus()[0]?.model ?? "unknown CPU";
  return `Node ${process.version}, ${availableParallelism()} CPUs (${model}), ${ROUNDS} interleaved rounds of ${DURATION} s per scenario (median), ${CONNECTIONS} connections; server in a child process, autocannon and the fake provider in the parent`;
}
