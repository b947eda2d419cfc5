/**
 * Cost of the bounded per-process structures (issue 9): claimed callback states and
 * complete-page templates, per insert, as the number of entries grows. Amortised O(1) would
 * give the same figure in every row of a group; the size never passes the cap.
 *
 *   node --import tsx bench/bounds.ts        (BENCH_BOUNDS_N measured inserts per row, default 50000)
 *
 * Both structures drop their oldest entry through a new Map iterator on every insert. The
 * algorithm visits each entry once (test/unit/bounds.test.ts counts the iterator steps), but V8
 * leaves deleted entries as holes at the front of a Map's table until it rehashes, and a new
 * iterator skips them one by one inside a single `next()`: see the figures.
 */
import { performance } from "node:perf_hooks";
import { availableParallelism, cpus, loadavg } from "node:os";
import { createClaimedStates } from "../lib/flow/claimed-states.js";
import { createPageRegistry, type PageFunction } from "../lib/pages/registry.js";

const N = Number(process.env.BENCH_BOUNDS_N ?? 50_000);
const T0 = 1_800_000_000_000;
const SIZES = [1_000, 10_000, 100_000] as const;
const template: PageFunction = () => "<p>done</p>";

interface Row {
  readonly structure: string;
  readonly scenario: string;
  readonly entries: number;
  readonly nsPerInsert: number;
  readonly sizeAfter: number;
}

/** ns per call of `insert(i)` for i in [from, from + N). */
function measure(from: number, insert: (i: number) => void): number {
  const start = performance.now();
  for (let i = from; i < from + N; i++) insert(i);
  return ((performance.now() - start) * 1e6) / N;
}

let id = 0;
const randomId = (): string => `r${id++}`;

const rows: Row[] = [];
for (let round = 0; round < 2; round++) {
  const keep = round === 1; // the first round warms the JIT up
  for (const size of SIZES) {
    // At the cap, nothing expiring: every insert drops the oldest entry.
    const claims = createClaimedStates(size);
    for (let i = 0; i < size; i++) claims.claim(`s${i}`, T0 + 600_000, T0);
    const atCap = measure(size, (i) => claims.claim(`s${i}`, T0 + 600_000, T0));
    if (keep) rows.push({ structure: "claimed states", scenario: "at the cap, none expired", entries: size, nsPerInsert: atCap, sizeAfter: claims.size });

    // A sliding window: one claim per ms, each living `size` ms, so one expires per claim.
    const sliding = createClaimedStates(1_000_000);
    for (let i = 0; i < size; i++) sliding.claim(`s${i}`, T0 + i + size, T0 + i);
    const window = measure(size, (i) => sliding.claim(`s${i}`, T0 + i + size, T0 + i));
    if (keep) rows.push({ structure: "claimed states", scenario: "sliding window, one expiring per insert", entries: size, nsPerInsert: window, sizeAfter: sliding.size });

    const pages = createPageRegistry(600_000, randomId, size);
    for (let i = 0; i < size; i++) pages.add(template, T0);
    const pagesAtCap = measure(size, () => void pages.add(template, T0));
    if (keep) rows.push({ structure: "page registry", scenario: "at the cap, none expired", entries: size, nsPerInsert: pagesAtCap, sizeAfter: pages.size });

    const pagesSliding = createPageRegistry(size, randomId, 1_000_000);
    for (let i = 0; i < size; i++) pagesSliding.add(template, T0 + i);
    const pagesWindow = measure(size, (i) => void pagesSliding.add(template, T0 + i));
    if (keep) rows.push({ structure: "page registry", scenario: "sliding window, one expiring per insert", entries: size, nsPerInsert: pagesWindow, sizeAfter: pagesSliding.size });
  }
}

const load = loadavg().map((l) => l.toFixed(1)).join(" ");
console.log(`Node ${process.version}, ${availableParallelism()} CPUs (${cpus()[0]?.model ?? "unknown"}), load average ${load}; ${N} measured inserts per row, second of two rounds\n`);
console.log("| structure | scenario | entries | ns per insert | size after |\n|---|---|---:|---:|---:|");
for (const r of rows.sort((x, y) => x.structure.localeCompare(y.structure) || x.scenario.localeCompare(y.scenario) || x.entries - y.entries)) {
  console.log(`| ${r.structure} | ${r.scenario} | ${r.entries.toLocaleString("en-US")} | ${Math.round(r.nsPerInsert).toLocaleString("en-US")} | ${r.sizeAfter.toLocaleString("en-US")} |`);
}
