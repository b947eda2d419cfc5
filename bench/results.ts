/**
 * The results file of `npm run bench` (bench/results/latest.json): its shape, how each bench
 * hands its part to bench/run-all.ts, and the machine and package notes. bench/report.ts turns
 * it into docs/performance.md and docs/performance.svg; nothing there is typed by hand.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));
export const DEFAULT_RESULTS = join(ROOT, "bench", "results", "latest.json");

/** Which comparison a per-request variant belongs to, i.e. which floor its ratio is against. */
export type Floor = "signed-in" | "signed-out";

/** One measured HTTP variant: medians over interleaved rounds. */
export interface VariantResult {
  readonly id: string;
  readonly label: string;
  /** The floor this variant is compared with; `isFloor` marks the floor itself. */
  readonly floor: Floor;
  readonly isFloor: boolean;
  readonly rps: number;
  readonly rpsMin: number;
  readonly rpsMax: number;
  readonly rpsRounds: readonly number[];
  readonly cpuUs: number;
  readonly cpuRounds: readonly number[];
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly total: number;
  readonly bad: number;
  /** Median over the rounds of req/s divided by the floor's req/s in the same round. */
  readonly ratio: number;
  /** req/s ÷ the floor's req/s in each round, in order (absent in results written before ratios were paired by round). */
  readonly ratioRounds?: readonly number[];
  /** The median round's req/s divided by the floor's median round (what `ratio` was before it was paired by round). */
  readonly ratioOfMedians?: number;
  /** Median over the rounds of server CPU per request divided by the floor's in the same round. */
  readonly cpuRatio: number;
  /** Bytes of the Cookie header the requests carried (0: none). */
  readonly cookieBytes: number;
}

/** The per-request bench's A/A check: a second floor server measured like a variant (bench/overhead.ts). */
export const AA_CHECK_ID = "session-again";
/** The floor after flet-auth's first step alone (bench/server.ts `session-hashed`), signed in and signed out. */
export const HASHED_IN_ID = "session-hashed-in";
export const HASHED_OUT_ID = "session-hashed-out";

export interface RequestsPart {
  readonly variants: readonly VariantResult[];
  /** Token and userinfo requests the provider received while the variants ran (must be 0). */
  readonly providerCalls: number;
  /** The CPUs the apps and autocannon were kept on (bench/common.ts pinning); absent: left to the scheduler. */
  readonly pinned?: { readonly serverCpu: number; readonly loadCpu: number };
}

export interface SignInVariant {
  readonly id: string;
  readonly label: string;
  /** Completed sign-ins per second (median round), with the lowest and highest round. */
  readonly perSecond: number;
  readonly perSecondMin: number;
  readonly perSecondMax: number;
  readonly rounds: readonly number[];
  /** Server CPU µs per sign-in (all three requests), median round. */
  readonly serverCpuUs: number;
  /** Provider CPU µs per sign-in (authorize, token with two RS256 signatures, userinfo), median round. */
  readonly providerCpuUs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly completed: number;
  readonly failed: number;
  /** Provider requests per completed sign-in. */
  readonly tokenCallsPerSignIn: number;
  readonly userinfoCallsPerSignIn: number;
  /** perSecond / the first variant's (flet-auth). */
  readonly ratio: number;
}

export interface SignInsPart {
  readonly concurrency: number;
  readonly variants: readonly SignInVariant[];
}

export interface StormVariant {
  readonly id: string;
  readonly label: string;
  /** Provider refresh requests per storm, one number per storm. */
  readonly refreshCalls: readonly number[];
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Answers that were not 200 with a token, over all storms. */
  readonly failed: number;
}

export interface StormPart {
  readonly concurrency: number;
  readonly storms: number;
  readonly variants: readonly StormVariant[];
}

export interface RememberMePart {
  readonly variants: readonly VariantResult[];
  /** Userinfo requests during the restores, against the responses counted. */
  readonly restoresAtProvider: number;
  readonly restoreResponses: number;
  /** Provider requests during the fetchUser:false restores and the forged-cookie rows (must be 0). */
  readonly providerCallsNoFetch: number;
  readonly providerCallsForged: number;
  readonly cookieChars: number;
  /** µs per call, cookie crypto alone. */
  readonly openUs: number;
  readonly forgedUs: number;
  readonly garbageUs: number;
  readonly sealUs: number;
  readonly loops: number;
  readonly keyDerivationMs: number;
}

export interface MemoryVariant {
  readonly id: string;
  readonly label: string;
  readonly sessions: number;
  /** heapUsed growth after GC, per signed-in session. */
  readonly heapBytesPerSession: number;
  /** Growth of the session store's contents (as JSON), per session. */
  readonly storeBytesPerSession: number;
  /** The Cookie header a signed-in browser sends. */
  readonly cookieBytes: number;
  readonly cookieNames: readonly string[];
  readonly seconds: number;
}

export interface MemoryPart {
  readonly variants: readonly MemoryVariant[];
}

export interface AnonBlock {
  /** Logins done when the block ended. */
  readonly upTo: number;
  readonly perSecond: number;
  readonly serverCpuUsPerLogin: number;
  readonly heapMiB: number;
  readonly storedSessions: number;
}

export interface AnonLoginsPart {
  readonly logins: number;
  readonly blockSize: number;
  readonly callbackEvery: number;
  readonly loginTimeoutMs: number;
  readonly sessionStoreCap: number;
  readonly blocks: readonly AnonBlock[];
  readonly failed: number;
  /** Bytes of one pending-login session in the session store (JSON). */
  readonly pendingSessionBytes: number;
  readonly heapStartMiB: number;
}

export interface EventLoopRow {
  readonly label: string;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly wallMs: number | null;
}

export interface EventLoopPart {
  readonly decrypts: number;
  readonly rows: readonly EventLoopRow[];
  readonly sealer: readonly { readonly label: string; readonly perSecond: number }[];
  readonly tokenBytes: number;
}

export interface Parts {
  requests?: RequestsPart;
  signIns?: SignInsPart;
  refreshStorm?: StormPart;
  rememberMe?: RememberMePart;
  memory?: MemoryPart;
  anonLogins?: AnonLoginsPart;
  eventLoop?: EventLoopPart;
}

export interface Machine {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly platform: string;
  readonly node: string;
  /** /proc/loadavg's 1-, 5- and 15-minute averages when the run started and ended. */
  readonly loadStart: readonly number[];
  readonly loadEnd: readonly number[];
}

export interface BenchRun extends Parts {
  readonly schema: 1;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly seconds: number;
  readonly settings: Readonly<Record<string, number>>;
  /** The command that reproduces the run. */
  readonly command: string;
  readonly machine: Machine;
  readonly versions: Readonly<Record<string, string>>;
  readonly git: { readonly commit: string; readonly libChanged: boolean };
  /** Benches that exited with an error (their part is missing or partial). */
  readonly failures: readonly string[];
}

/** Hands a bench's part to run-all (env BENCH_PART_DIR); a bench run alone just prints. */
export function writePart<K extends keyof Parts>(key: K, value: NonNullable<Parts[K]>): void {
  const dir = process.env.BENCH_PART_DIR;
  if (dir === undefined || dir === "") return;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${key}.json`), `${JSON.stringify(value, null, 2)}\n`);
}

export function machine(loadStart: readonly number[]): Machine {
  return {
    cpuModel: cpus()[0]?.model.trim() ?? "unknown CPU",
    cores: availableParallelism(),
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    platform: `${process.platform} ${process.arch}`,
    node: process.version,
    loadStart,
    loadEnd: loadavg(),
  };
}

/** Installed versions of the packages under test, read from node_modules. */
export function versions(): Record<string, string> {
  const read = (dir: string): string => {
    try {
      return (JSON.parse(readFileSync(join(ROOT, dir, "package.json"), "utf8")) as { version: string }).version;
    } catch {
      return "not installed";
    }
  };
  const out: Record<string, string> = { "flet-auth": read(".") };
  for (const name of ["express", "express-session", "passport", "passport-local", "express-openid-connect", "oauth2-mock-server", "autocannon", "tsx"]) {
    out[name] = read(join("node_modules", name));
  }
  return out;
}

/** The commit the run measured, and whether lib/ had uncommitted changes then. */
export function gitState(): { commit: string; libChanged: boolean } {
  try {
    const commit = execFileSync("git", ["rev-parse", "--short=12", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim();
    const changed = execFileSync("git", ["status", "--porcelain", "--", "lib"], { cwd: ROOT, encoding: "utf8" }).trim() !== "";
    return { commit, libChanged: changed };
  } catch {
    return { commit: "unknown", libChanged: false };
  }
}
