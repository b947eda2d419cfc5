/**
 * Shared pieces of the HTTP benchmarks: each app under test runs in its own child process
 * (bench/server.ts), and so does the OpenID provider (bench/provider.ts, oauth2-mock-server), so
 * the load generator (autocannon, in this process), the app and the provider do not share one
 * event loop; autocannon runs interleaved round by round with the server's CPU time per request;
 * markdown tables.
 */
import { execFileSync, fork, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createRequire } from "node:module";
import { existsSync, readFileSync } from "node:fs";
import { availableParallelism, cpus } from "node:os";
import { fileURLToPath } from "node:url";
import type { ProviderCommand, ProviderStats } from "./provider.js";
import type { Floor, VariantResult } from "./results.js";

/** The subset of autocannon's programmatic API used here (the package ships no types). */
export interface AutocannonRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  setupRequest?: (req: { headers?: Record<string, string>; [k: string]: unknown }) => unknown;
  /** Called with every response of this request; headers as autocannon gives them. */
  onResponse?: (status: number, body: string, context: unknown, headers: Record<string, string | string[]>) => void;
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
/**
 * The client registered at the provider (the mock accepts any). Letters and digits only: the mock
 * takes the ID token's `aud` from the Basic credentials without form-decoding them, and
 * openid-client form-encodes `-` as `%2D` there.
 */
export const CLIENT_ID = "benchclient";
export const CLIENT_SECRET = "benchclientsecret0123456789";

/** Seconds per measured run (env BENCH_DURATION, 2–5 recommended). */
export const DURATION = Number(process.env.BENCH_DURATION ?? 3);
export const CONNECTIONS = 10;

/** What the server child can be (bench/server.ts). */
export type ServerKind = "bare" | "session" | "session-hashed" | "passport" | "eoc" | "fletauth" | "fletauth-remember";

export interface RunningServer {
  readonly kind: ServerKind;
  readonly url: string;
  /** CPU time (user + system, µs) the server process has used so far. */
  cpu(): Promise<number>;
  /** heapUsed in bytes after two full collections (start the server with `exposeGc`). */
  heap(): Promise<number>;
  /** Sessions in the server's session store and their size as JSON. */
  sessions(): Promise<{ count: number; bytes: number }>;
  stop(): Promise<void>;
}

export interface ServerOptions {
  /** Extra environment (see bench/server.ts). */
  readonly env?: Readonly<Record<string, string>>;
  /** Start with --expose-gc, for heap measurements. */
  readonly exposeGc?: boolean;
  /** More options for node, e.g. `--cpu-prof` to profile a bench server by hand. */
  readonly nodeArgs?: readonly string[];
  /** Run the server (all its threads) on the server CPU of {@link pinning}, when there is one. */
  readonly pinned?: boolean;
}

const TASKSET = "/usr/bin/taskset";

/** The CPUs this process may run on (Linux: /proc/self/status, e.g. "0-1" or "2,4-5"); empty elsewhere. */
function allowedCpus(): number[] {
  if (process.platform !== "linux" || !existsSync("/proc/self/status")) return [];
  const line = /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? "";
  return line.split(",").flatMap((range) => {
    const [from, to = from] = range.split("-").map(Number);
    if (from === undefined || to === undefined || !Number.isInteger(from) || !Number.isInteger(to)) return [];
    return Array.from({ length: to - from + 1 }, (_, k) => from + k);
  });
}

/** CPUs this process may use, counted before {@link pinSelf} narrows it (for the printed notes). */
const CPU_COUNT = availableParallelism();

/**
 * Where the per-request bench keeps its processes, or undefined when it cannot (not Linux, no
 * `taskset`, fewer than two CPUs allowed) or must not (BENCH_PIN=0): the app measured on one
 * allowed CPU, autocannon on another. Left to the scheduler, the app, its GC threads and
 * autocannon moved between this machine's two cores at will: two identical express-session
 * servers measured side by side then differed by up to 30 % in a round (A/A, standard deviation
 * of the log ratio 0.10 over 8 rounds); with the app on one core and autocannon on the other, in
 * trials on a quiet machine, by at most 8 % (0.014 and 0.03), though not when the host itself
 * was busy (bench/README.md). (With hyperthreading, two CPUs may be one core's two threads;
 * here they are two cores.)
 */
export const pinning: { readonly serverCpu: number; readonly loadCpu: number } | undefined = (() => {
  if (process.env.BENCH_PIN === "0" || !existsSync(TASKSET)) return undefined;
  const [loadCpu, serverCpu] = allowedCpus();
  return loadCpu === undefined || serverCpu === undefined ? undefined : { serverCpu, loadCpu };
})();

/** Keeps this process (every thread: autocannon runs here) on the load generator's CPU, when {@link pinning}. */
export function pinSelf(): void {
  if (pinning !== undefined) execFileSync(TASKSET, ["-a", "-p", "-c", String(pinning.loadCpu), String(process.pid)], { stdio: ["ignore", "ignore", "inherit"] });
}

const json = async <T>(url: string): Promise<T> => {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url} answered ${res.status}`);
  return (await res.json()) as T;
};

/** Starts bench/server.ts as a child process and waits until it listens. */
export async function startServer(kind: ServerKind, providerUrl: string, options: ServerOptions = {}): Promise<RunningServer> {
  const nodeArgs = [...(options.exposeGc ? ["--expose-gc"] : []), ...(options.nodeArgs ?? []), "--import", "tsx"];
  const cpu = options.pinned === true ? pinning?.serverCpu : undefined;
  const child: ChildProcess = fork(fileURLToPath(new URL("./server.ts", import.meta.url)), [kind], {
    // Pinned: node started through taskset, so every thread it makes stays on that CPU.
    ...(cpu !== undefined ? { execPath: TASKSET, execArgv: ["-c", String(cpu), process.execPath, ...nodeArgs] } : { execArgv: nodeArgs }),
    env: { ...process.env, ...options.env, PROVIDER_URL: providerUrl, NODE_ENV: "development" },
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
    kind,
    url,
    async cpu() {
      const body = await json<{ user: number; system: number }>(`${url}/__cpu`);
      return body.user + body.system;
    },
    async heap() {
      const body = await json<{ gc: boolean; heapUsed: number }>(`${url}/__heap`);
      if (!body.gc) throw new Error("heap(): start the server with exposeGc");
      return body.heapUsed;
    },
    sessions: () => json<{ count: number; bytes: number }>(`${url}/__sessions`),
    async stop() {
      if (child.exitCode !== null) return;
      const exited = once(child, "exit");
      child.kill("SIGTERM");
      await exited;
    },
  };
}

export interface RunningProvider {
  /** The issuer URL, `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** What the provider answered so far, and its CPU time. */
  stats(): Promise<ProviderStats>;
  /** `expires_in` of tokens issued for an authorization code from now on (`null`: the mock's 3600 s). */
  setCodeTokenTtl(seconds: number | null): Promise<void>;
  stop(): Promise<void>;
}

/** Starts bench/provider.ts (oauth2-mock-server) as a child process. */
export async function startProvider(): Promise<RunningProvider> {
  const child: ChildProcess = fork(fileURLToPath(new URL("./provider.ts", import.meta.url)), [], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const [ready] = (await Promise.race([
    once(child, "message"),
    once(child, "exit").then(([code]) => {
      throw new Error(`bench provider exited (${String(code)}) before listening`);
    }),
  ])) as [{ issuer: string }];
  let nextId = 0;
  const call = (command: ProviderCommand): Promise<ProviderStats> =>
    new Promise((resolve) => {
      const onMessage = (message: { id?: number; stats?: ProviderStats }): void => {
        if (message.id !== command.id || message.stats === undefined) return;
        child.off("message", onMessage);
        resolve(message.stats);
      };
      child.on("message", onMessage);
      child.send(command);
    });
  return {
    url: ready.issuer,
    stats: () => call({ type: "stats", id: ++nextId }),
    async setCodeTokenTtl(seconds) {
      await call({ type: "set", id: ++nextId, codeTokenTtl: seconds });
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = once(child, "exit");
      child.kill("SIGTERM");
      await exited;
    },
  };
}

/**
 * Seconds of load before every measured run of {@link measureAll} (env BENCH_WARMUP;
 * bench/signin.ts warms up on its own). A freshly started server reached its steady speed here
 * only after about 3 s of load (flet-auth, with more code for V8 to optimise, ran its first 2 s at 0.8× of its later speed; express-session alone at 0.9×), and
 * a server left idle for a while is slower again for its first seconds: so every run gets a
 * warm-up of its own, seconds before it, not one for all scenarios at the start.
 */
export const WARMUP = Number(process.env.BENCH_WARMUP ?? 3);

/**
 * Seconds per slice of a paired run (env BENCH_SLICE; 0: one run each, back to back). A variant
 * and its floor take turns in slices of this length until each has had {@link DURATION} seconds.
 */
export const SLICE = Number(process.env.BENCH_SLICE ?? 1);

/** Rounds per scenario (env BENCH_ROUNDS); scenarios are interleaved round by round and the median kept. */
export const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

/** One scenario to measure. */
export interface Scenario {
  readonly name: string;
  readonly server: RunningServer;
  readonly options: Omit<AutocannonOptions, "url" | "connections" | "duration"> & { path?: string };
  /**
   * Requests that carry per-connection state (e.g. a cookie each response replaces): then every
   * connection is its own autocannon instance with `connections: 1` and these requests, all
   * running at once; their results are added up (p50: median, p99: highest of the instances).
   */
  readonly perConnection?: (connection: number) => AutocannonRequest[];
  /** Runs before each run (the warm-up and every round), outside the measured time and CPU. */
  readonly prepare?: () => Promise<void>;
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
  /** Requests/s of every round, in order. */
  readonly rpsRounds: readonly number[];
  /** Server CPU µs/req of every round, in order. */
  readonly cpuRounds: readonly number[];
  /** With paired floors ({@link measureAll}): the floor's requests/s in the run next to each of this variant's rounds. */
  readonly pairedFloorRps?: readonly number[];
  /** The same for the floor's server CPU µs/req. */
  readonly pairedFloorCpu?: readonly number[];
}

interface Round {
  rps: number;
  total: number;
  p50: number;
  p99: number;
  cpuUs: number;
  bad: number;
}

export const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

/** One autocannon run of `scenario` (or one instance per connection, see {@link Scenario.perConnection}). */
async function cannon(scenario: Scenario, duration: number): Promise<Omit<Round, "cpuUs">> {
  const { path = "/me", ...rest } = scenario.options;
  const url = `${scenario.server.url}${path}`;
  const perConnection = scenario.perConnection;
  if (perConnection === undefined) {
    const result = await autocannon({ url, connections: CONNECTIONS, duration, ...rest });
    return {
      rps: result.requests.average,
      total: result["2xx"] + result.non2xx,
      p50: result.latency.p50,
      p99: result.latency.p99,
      bad: result.non2xx + result.errors + result.timeouts + result.mismatches,
    };
  }
  const results = await Promise.all(
    Array.from({ length: CONNECTIONS }, (_, i) => autocannon({ url, connections: 1, duration, ...rest, requests: perConnection(i) })),
  );
  const sum = (f: (r: AutocannonResult) => number): number => results.reduce((acc, r) => acc + f(r), 0);
  return {
    rps: sum((r) => r.requests.average),
    total: sum((r) => r["2xx"] + r.non2xx),
    p50: median(results.map((r) => r.latency.p50)),
    p99: Math.max(...results.map((r) => r.latency.p99)),
    bad: sum((r) => r.non2xx + r.errors + r.timeouts + r.mismatches),
  };
}

/** `seconds` (default {@link WARMUP}) of the scenario's load, not measured. */
async function warmUp(scenario: Scenario, seconds = WARMUP): Promise<void> {
  await scenario.prepare?.();
  await cannon(scenario, seconds);
}

/** One measured run of `scenario` (warm it up first: {@link warmUp}). */
async function runOnce(scenario: Scenario, duration: number): Promise<Round> {
  await scenario.prepare?.();
  const cpuBefore = await scenario.server.cpu();
  scenario.onStart?.();
  const result = await cannon(scenario, duration);
  scenario.onEnd?.();
  const cpuAfter = await scenario.server.cpu();
  return { ...result, cpuUs: result.total === 0 ? Number.NaN : (cpuAfter - cpuBefore) / result.total };
}

/**
 * Warms up and measures two scenarios, {@link WARMUP} and {@link DURATION} seconds each: taking
 * turns in slices of `slice` seconds throughout (a b a b …, warm-up included), or with a
 * slice of 0, both warmed up, then one run each, back to back. The machine's speed moves within
 * seconds here: two identical servers measured back to back for 3 s each came out 0.83–1.12
 * apart over a full run's rounds; in turns of a second both see the same machine, and neither
 * idles longer than a slice (a server that idled was slower for its first second again).
 */
async function runPair(a: Scenario, b: Scenario, slice: number): Promise<[Round, Round]> {
  if (!(slice > 0) || slice >= DURATION) {
    await warmUp(a);
    await warmUp(b);
    return [await runOnce(a, DURATION), await runOnce(b, DURATION)];
  }
  const turns = (seconds: number): number[] => {
    const count = Math.round(seconds / slice);
    // Strictly alternating: every slice of either comes right after one of the other.
    return Array.from({ length: count * 2 }, (_, k) => k % 2);
  };
  for (const which of turns(WARMUP)) await warmUp(which === 0 ? a : b, slice);
  const runs: [Round[], Round[]] = [[], []];
  for (const which of turns(DURATION)) runs[which]!.push(await runOnce(which === 0 ? a : b, slice));
  return [joinSlices(runs[0]), joinSlices(runs[1])];
}

/** One round from the slices of one scenario's turns: their requests and CPU added up, the median latencies. */
function joinSlices(slices: readonly Round[]): Round {
  const total = slices.reduce((sum, x) => sum + x.total, 0);
  const cpu = slices.reduce((sum, x) => sum + x.cpuUs * x.total, 0);
  return {
    rps: slices.reduce((sum, x) => sum + x.rps, 0) / slices.length,
    total,
    p50: median(slices.map((x) => x.p50)),
    p99: median(slices.map((x) => x.p99)),
    cpuUs: total === 0 ? Number.NaN : cpu / total,
    bad: slices.reduce((sum, x) => sum + x.bad, 0),
  };
}

/**
 * Measures the scenarios interleaved for {@link ROUNDS} rounds of {@link DURATION} seconds, each
 * run preceded by a warm-up of its own ({@link WARMUP} s), so that load from elsewhere on a
 * shared machine hits every scenario alike; reports medians. The order reverses every other round — a, b, c, c, b, a, a, b,
 * c, … — so that a machine growing faster or slower during a round does not favour the scenarios
 * that come early in it (the floor is first in its list).
 *
 * With `floorOf` (scenario index → the index of its floor, or undefined for a floor), every
 * variant is measured together with its floor, taking turns in slices of `window.slice` seconds
 * (default {@link SLICE}; floor first in even rounds, last in odd ones; {@link runPair}): on
 * this VM the machine's speed moves within seconds, so a floor measured ten runs away shares
 * little of a variant's round. The pair's floor figures are kept
 * with the variant ({@link Measured.pairedFloorRps}). A scenario that is some variant's floor runs
 * only in those pairs, so give every variant a floor of its own (a twin: bench/overhead.ts), or
 * that floor runs more often than the variants and idles less than they do.
 */
export async function measureAll(
  scenarios: readonly Scenario[],
  floorOf?: (i: number) => number | undefined,
  window: { readonly rounds?: number; readonly firstRound?: number; readonly slice?: number } = {},
): Promise<Measured[]> {
  const { rounds: count = ROUNDS, firstRound = 0, slice = SLICE } = window;
  const floors = floorOf === undefined ? [] : [...scenarios.keys()].flatMap((i) => floorOf(i) ?? []);
  if (new Set(floors).size !== floors.length) throw new Error("measureAll: every variant needs a floor of its own (a twin)");
  const rounds: Round[][] = scenarios.map(() => []);
  const paired: Round[][] = scenarios.map(() => []);
  // A twin runs only in its variant's pairs.
  const forward = [...scenarios.keys()].filter((i) => !floors.includes(i));
  const backward = [...forward].reverse();
  for (let r = firstRound; r < firstRound + count; r++) {
    for (const i of r % 2 === 0 ? forward : backward) {
      const f = floorOf?.(i);
      if (f === undefined) {
        await warmUp(scenarios[i]!);
        rounds[i]!.push(await runOnce(scenarios[i]!, DURATION));
        continue;
      }
      // Warmed up and measured together (runPair): each idles as long as the other between its
      // warm-up and its run.
      const [first, second] = r % 2 === 0 ? [f, i] : [i, f];
      const [a, b] = await runPair(scenarios[first]!, scenarios[second]!, slice);
      rounds[i]!.push(first === i ? a : b);
      paired[i]!.push(first === i ? b : a);
    }
  }
  return scenarios.map((s, i) => summarise(s.name, rounds[i]!, paired[i]!));
}

/**
 * One row per scenario from rows measured in separate calls of {@link measureAll} (one round
 * each on freshly started servers, say): their rounds in order, then the medians over all.
 */
export function mergeMeasured(parts: ReadonlyArray<readonly Measured[]>): Measured[] {
  const first = parts[0] ?? [];
  return first.map((row, i) => {
    const rows = parts.map((p) => p[i] as Measured);
    const rs: Round[] = rows.flatMap((m) =>
      m.rpsRounds.map((rps, k) => ({ rps, cpuUs: m.cpuRounds[k] as number, total: m.total / m.rpsRounds.length, p50: m.p50, p99: m.p99, bad: m.bad / m.rpsRounds.length })),
    );
    const ps: Round[] = rows.flatMap((m) => (m.pairedFloorRps ?? []).map((rps, k) => ({ rps, cpuUs: m.pairedFloorCpu?.[k] as number, total: 0, p50: 0, p99: 0, bad: 0 })));
    return summarise(row.name, rs, ps);
  });
}

/** A scenario's row from its rounds (and its paired floor's runs, if any). */
function summarise(name: string, rs: readonly Round[], ps: readonly Round[]): Measured {
  return {
    name,
    rps: median(rs.map((x) => x.rps)),
    rpsMin: Math.min(...rs.map((x) => x.rps)),
    rpsMax: Math.max(...rs.map((x) => x.rps)),
    total: rs.reduce((sum, x) => sum + x.total, 0),
    p50: median(rs.map((x) => x.p50)),
    p99: median(rs.map((x) => x.p99)),
    cpuUs: median(rs.map((x) => x.cpuUs)),
    bad: rs.reduce((sum, x) => sum + x.bad, 0),
    rpsRounds: rs.map((x) => x.rps),
    cpuRounds: rs.map((x) => x.cpuUs),
    ...(ps.length > 0 ? { pairedFloorRps: ps.map((x) => x.rps), pairedFloorCpu: ps.map((x) => x.cpuUs) } : {}),
  };
}

/** GET /me with cookies → the JSON body. */
export async function me(server: RunningServer, cookie: string | undefined): Promise<{ signedIn: boolean; user: string | null }> {
  const res = await fetch(`${server.url}/me`, cookie === undefined ? {} : { headers: { cookie } });
  return (await res.json()) as { signedIn: boolean; user: string | null };
}

/** The `p`-th percentile (0–100) of `values`, nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

export const int = (n: number): string => Math.round(n).toLocaleString("en-US");
export const fixed = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : "–");

/** The floor's requests/s and CPU per round to divide `row`'s by: its paired floor runs, else `floor`'s rounds. */
function floorRounds(row: Measured, floor: Measured): { rps: readonly number[]; cpu: readonly number[] } {
  return { rps: row.pairedFloorRps ?? floor.rpsRounds, cpu: row.pairedFloorCpu ?? floor.cpuRounds };
}

/** Prints a markdown table of `rows` with ratios against `base` (requests/s, median of the per-round ratios). */
export function printTable(rows: readonly Measured[], base: Measured): void {
  console.log("| scenario | req/s (median) | rounds min–max | vs baseline | latency p50 / p99 (ms) | server CPU µs/req | bad responses |");
  console.log("|---|---:|---:|---:|---:|---:|---:|");
  for (const r of rows) {
    console.log(
      `| ${r.name} | ${int(r.rps)} | ${int(r.rpsMin)}–${int(r.rpsMax)} | ${fixed(median(r.rpsRounds.map((rps, i) => rps / (floorRounds(r, base).rps[i] as number))), 2)}× | ${r.p50} / ${r.p99} | ${fixed(r.cpuUs, 0)} | ${r.bad} of ${int(r.total)} |`,
    );
  }
}

export function machineNotes(): string {
  const model = cpus()[0]?.model ?? "unknown CPU";
  return `Node ${process.version}, ${CPU_COUNT} CPUs (${model}), ${ROUNDS} interleaved rounds of ${DURATION} s per scenario (median; ratios: median of the per-round ratios), ${CONNECTIONS} connections; server and provider in child processes, autocannon in the parent`;
}

/** What {@link withRatios} needs of a variant. */
export interface RatioVariant {
  readonly id: string;
  readonly label: string;
  readonly floor: Floor;
  readonly isFloor?: boolean;
  /** The Cookie header its requests carry. */
  readonly cookie?: string;
}

/** Turns measured rows into results with their ratios to the floor of their comparison. */
export function withRatios(variants: readonly RatioVariant[], rows: readonly Measured[]): VariantResult[] {
  const floorRow = (floor: Floor): Measured => {
    const i = variants.findIndex((v) => v.isFloor === true && v.floor === floor);
    if (i < 0) throw new Error(`no floor for ${floor}`);
    return rows[i] as Measured;
  };
  return variants.map((v, i) => {
    const r = rows[i] as Measured;
    const floor = floorRow(v.floor);
    // Each round's variant against the same round's floor (measured seconds apart), then the
    // median: a round the whole machine ran slow in moves both sides of its ratio alike.
    // With paired floors, the floor's run right next to the variant's (see measureAll).
    const against = floorRounds(r, floor);
    const ratioRounds = r.rpsRounds.map((rps, round) => rps / (against.rps[round] as number));
    const cpuRatioRounds = r.cpuRounds.map((cpu, round) => cpu / (against.cpu[round] as number));
    return {
      id: v.id,
      label: v.label,
      floor: v.floor,
      isFloor: v.isFloor === true,
      rps: r.rps,
      rpsMin: r.rpsMin,
      rpsMax: r.rpsMax,
      rpsRounds: r.rpsRounds,
      cpuUs: r.cpuUs,
      cpuRounds: r.cpuRounds,
      p50Ms: r.p50,
      p99Ms: r.p99,
      total: r.total,
      bad: r.bad,
      ratio: median(ratioRounds),
      ratioRounds,
      ratioOfMedians: r.rps / floor.rps,
      cpuRatio: median(cpuRatioRounds),
      cookieBytes: v.cookie === undefined ? 0 : Buffer.byteLength(v.cookie),
    };
  });
}
