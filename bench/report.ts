/**
 * `npm run bench:report`: docs/performance.md and docs/performance.svg from one results file
 * (default bench/results/latest.json). Every figure in them comes from that file; edit this
 * script, not the generated files.
 *
 *   node --import tsx bench/report.ts [results.json] [--md docs/performance.md] [--svg docs/performance.svg]
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { AA_CHECK_ID, DEFAULT_RESULTS, HASHED_IN_ID, HASHED_OUT_ID, ROOT, type BenchRun, type VariantResult } from "./results.js";

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const input = args.find((a, i) => !a.startsWith("--") && (i === 0 || !(args[i - 1] ?? "").startsWith("--"))) ?? DEFAULT_RESULTS;
const mdPath = flag("--md") ?? join(ROOT, "docs", "performance.md");
const svgPath = flag("--svg") ?? join(ROOT, "docs", "performance.svg");
const run = JSON.parse(readFileSync(input, "utf8")) as BenchRun;

const int = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "–");
const fixed = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : "–");
const ratio = (n: number): string => `${fixed(n, 2)}×`;
const isHashedStep = (v: VariantResult): boolean => v.id === HASHED_IN_ID || v.id === HASHED_OUT_ID;
const ms = (n: number): string => (n >= 10 ? int(n) : fixed(n, 1));
const code = (s: string): string => s.replace(/(req\.[\w.]+(?:\(\))?|fetchUser: false|getToken\(\)|isExpired\(\)|refresh\(\))/g, "`$1`");
const escapeXml = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** Below the defaults the figures are a smoke test, and the page says so. */
function smokeReasons(r: BenchRun): string[] {
  const s = r.settings;
  const reasons: string[] = [];
  if ((s["durationS"] ?? 0) < 3) reasons.push(`${s["durationS"]} s rounds`);
  if ((s["rounds"] ?? 0) < 3) reasons.push(`${s["rounds"]} round(s)`);
  if (s["warmupPerRun"] === 1 && (s["warmupS"] ?? 0) < 3) reasons.push(`${s["warmupS"]} s warm-ups`);
  if ((s["sessions"] ?? 0) < 10_000) reasons.push(`${int(s["sessions"] ?? 0)} sessions`);
  if ((s["anonLogins"] ?? 0) < 100_000) reasons.push(`${int(s["anonLogins"] ?? 0)} anonymous logins`);
  return reasons;
}

function machineLine(r: BenchRun): string {
  const m = r.machine;
  const load = (l: readonly number[]): string => l.map((x) => x.toFixed(2)).join(" / ");
  return `${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.platform}; load average (1 / 5 / 15 min) ${load(m.loadStart)} at the start, ${load(m.loadEnd)} at the end; Node ${m.node}`;
}

// ---------------------------------------------------------------------------------------------
// The chart: one bar per per-request variant, its req/s as a ratio to its floor.

function chart(r: BenchRun): string {
  const variants = r.requests?.variants ?? [];
  const groups: { title: string; rows: VariantResult[] }[] = [
    { title: "Signed in — floor: express-session alone with a loaded session", rows: variants.filter((v) => v.floor === "signed-in") },
    { title: "Signed out — floor: express-session alone, no cookie", rows: variants.filter((v) => v.floor === "signed-out") },
  ];
  const width = 960;
  const labelW = 470;
  const barX = labelW + 10;
  const barW = width - barX - 90;
  const rowH = 26;
  const top = 78;
  const maxRatio = Math.max(1.2, ...variants.map((v) => Math.max(v.ratio, ...(v.ratioRounds ?? []))));
  const scaleMax = Math.ceil(maxRatio * 4) / 4;
  const x = (value: number): number => barX + (Math.min(value, scaleMax) / scaleMax) * barW;
  const rows = groups.reduce((n, g) => n + g.rows.length + 1, 0);
  const height = top + rows * rowH + 58;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" font-size="13">`,
    `<title>Requests per second relative to express-session alone, same run</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="16" y="26" font-size="16" font-weight="600" fill="#111">Requests/s relative to express-session alone — same run, median of ${r.settings["rounds"]} interleaved rounds</text>`,
    `<text x="16" y="46" fill="#555">${escapeXml(`${r.machine.cpuModel}, ${r.machine.cores} cores, load ${r.machine.loadStart.map((l) => l.toFixed(1)).join("/")}; Node ${r.machine.node}; ${r.startedAt.slice(0, 10)}; ${r.settings["durationS"]} s rounds${smokeReasons(r).length > 0 ? " — SMOKE RUN, not representative" : ""}`)}</text>`,
    `<text x="16" y="64" fill="#555">Bar: median over the rounds of req/s ÷ the floor's req/s in the same round. Whisker: the lowest and highest round's ratio.</text>`,
  );
  // Grid lines every 0.25×.
  for (let t = 0; t <= scaleMax + 1e-9; t += 0.25) {
    const gx = x(t).toFixed(1);
    const major = Math.abs(t - Math.round(t)) < 1e-9 || Math.abs(t * 2 - Math.round(t * 2)) < 1e-9;
    parts.push(`<line x1="${gx}" y1="${top - 6}" x2="${gx}" y2="${top + rows * rowH}" stroke="${major ? "#d0d0d0" : "#ececec"}"/>`);
    if (major) parts.push(`<text x="${gx}" y="${top + rows * rowH + 16}" text-anchor="middle" fill="#555">${fixed(t, t % 1 === 0 ? 0 : 1)}×</text>`);
  }
  let y = top;
  for (const g of groups) {
    parts.push(`<text x="16" y="${y + 17}" font-weight="600" fill="#222">${escapeXml(g.title)}</text>`);
    y += rowH;
    for (const v of g.rows) {
      const fill = v.isFloor || v.id === AA_CHECK_ID ? "#9e9e9e" : v.id.startsWith("fletauth") ? "#1f6feb" : isHashedStep(v) ? "#8fb3f0" : v.id === "bare" ? "#bdbdbd" : "#e8912d";
      const w = Math.max(1, x(v.ratio) - barX);
      parts.push(`<text x="${labelW}" y="${y + 17}" text-anchor="end" fill="#222">${escapeXml(v.label)}</text>`);
      parts.push(`<rect x="${barX}" y="${y + 5}" width="${w.toFixed(1)}" height="${rowH - 10}" fill="${fill}" rx="2"/>`);
      const rounds = v.ratioRounds ?? [];
      if (!v.isFloor && rounds.length > 1) {
        const lo = x(Math.min(...rounds));
        const hi = x(Math.max(...rounds));
        const cy = y + rowH / 2;
        parts.push(`<path d="M${lo.toFixed(1)} ${cy}H${hi.toFixed(1)}M${lo.toFixed(1)} ${cy - 4}V${cy + 4}M${hi.toFixed(1)} ${cy - 4}V${cy + 4}" stroke="#333" stroke-width="1"/>`);
      }
      parts.push(`<text x="${(x(Math.max(v.ratio, ...rounds)) + 6).toFixed(1)}" y="${y + 17}" fill="#111">${ratio(v.ratio)}</text>`);
      y += rowH;
    }
  }
  const fx = x(1).toFixed(1);
  parts.push(`<line x1="${fx}" y1="${top - 6}" x2="${fx}" y2="${top + rows * rowH}" stroke="#333" stroke-dasharray="4 3"/>`);
  const legendY = top + rows * rowH + 40;
  const legend: [string, string][] = [
    ["#9e9e9e", "express-session alone (floor, A/A)"],
    ["#1f6feb", "flet-auth"],
    ["#8fb3f0", "hash-table step alone"],
    ["#e8912d", "passport / express-openid-connect"],
    ["#bdbdbd", "bare Express"],
  ];
  let lx = 16;
  for (const [color, text] of legend) {
    parts.push(`<rect x="${lx}" y="${legendY - 10}" width="12" height="12" fill="${color}" rx="2"/><text x="${lx + 18}" y="${legendY}" fill="#333">${escapeXml(text)}</text>`);
    lx += 30 + text.length * 7;
  }
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}

// ---------------------------------------------------------------------------------------------
// The page.

/** "label X×" for every flet-auth variant, its ratio over the hash-table step's in its floor group. */
function ownCost(r: BenchRun): string[] {
  const variants = r.requests?.variants ?? [];
  return variants.flatMap((v) => {
    if (!v.id.startsWith("fletauth")) return [];
    const step = variants.find((s) => isHashedStep(s) && s.floor === v.floor);
    return step === undefined ? [] : [`${code(v.label)} ${ratio(v.ratio / step.ratio)}`];
  });
}

function requestTable(rows: readonly VariantResult[]): string[] {
  const out = [
    "| variant | req/s (median) | rounds min–max | **vs floor** | server CPU µs/req | CPU vs floor | latency p50 / p99 (ms) | Cookie header (bytes) | bad responses |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const v of rows) {
    const name = v.isFloor ? `**${code(v.label)}** (floor)` : code(v.label);
    out.push(
      `| ${name} | ${int(v.rps)} | ${int(v.rpsMin)}–${int(v.rpsMax)} | **${ratio(v.ratio)}** | ${int(v.cpuUs)} | ${ratio(v.cpuRatio)} | ${ms(v.p50Ms)} / ${ms(v.p99Ms)} | ${v.cookieBytes === 0 ? "–" : int(v.cookieBytes)} | ${int(v.bad)} of ${int(v.total)} |`,
    );
  }
  return out;
}

function page(r: BenchRun, svgName: string): string {
  const md: string[] = [];
  const s = r.settings;
  const smoke = smokeReasons(r);
  md.push("# Performance", "");
  md.push(
    `<!-- Generated by bench/report.ts from ${relative(ROOT, input) || input} — do not edit by hand; run \`npm run bench\` (or \`npm run bench:report\` to redraw). -->`,
    "",
  );
  if (smoke.length > 0) {
    md.push(`> **Smoke run** (${smoke.join(", ")}): these figures only show that the benchmarks work. For real figures run the full command below on a quiet machine.`, "");
  }
  if (r.failures.length > 0) md.push(`> **Benches that failed in this run:** ${r.failures.join(", ")} — their sections are missing or partial.`, "");
  md.push(
    "Every figure on this page comes from **one run** of `npm run bench` (`bench/`), written to `bench/results/latest.json` and turned into this page and the chart by `bench/report.ts`. Compare rows within a table: each ratio is against a floor measured in the same run, with all variants interleaved round by round, the order reversed every other round (a, b, c, … c, b, a, …), so that load from elsewhere hits them alike. **vs floor** is the median over the rounds of each round's ratio (the variant's req/s ÷ the floor's req/s in the same round; in the per-request tables, a twin of the floor, a server of its own, taking turns with the variant in slices of a second, as the machine's speed moves within seconds, with every server started anew for each round, as a Node process has a speed of its own); \"CPU vs floor\" likewise for server CPU per request. Method and files: `bench/README.md` in the repository.",
    "",
    `- **Run:** ${r.startedAt.replace("T", " ").slice(0, 16)} UTC, ${int(r.seconds / 60)} min; \`${r.command}\` (${s["rounds"]} rounds × ${s["durationS"]} s per variant${s["sliceS"] !== undefined && s["sliceS"] > 0 ? ` (per request: in turns of ${s["sliceS"]} s with its floor's twin)` : ""}, ${s["warmupPerRun"] === 1 ? `in the per-request and remember-me tables each run after a warm-up of its own (${s["warmupS"]} s of the same load)` : `after ${s["warmupS"]} s of warm-up`}, ${s["connections"]} connections).`,
    `- **Machine:** ${machineLine(r)}.`,
    `- **Packages:** ${Object.entries(r.versions).map(([k, v]) => `${k} ${v}`).join(", ")}.`,
    `- **Code:** commit \`${r.git.commit}\`${r.git.libChanged ? " with uncommitted changes under lib/" : ""}.`,
    "- **Setup:** each app in its own Node process, the OpenID provider ([oauth2-mock-server](https://www.npmjs.com/package/oauth2-mock-server), RS256) in another, autocannon / the sign-in clients in the parent; everything on 127.0.0.1. All libraries sign in the same user (OpenID Connect standard claims, a few hundred bytes).",
  );
  const pinned = r.requests?.pinned;
  const again = r.requests?.variants.find((v) => v.id === AA_CHECK_ID);
  if (pinned !== undefined || again !== undefined) {
    md.push(
      `- **Per request:** ${pinned !== undefined ? `every app on CPU ${pinned.serverCpu}, autocannon and the provider on CPU ${pinned.loadCpu} (\`taskset\`), so the app measured has a core of its own` : "processes left to the scheduler (not pinned to CPUs)"}${again !== undefined ? `; the row "${again.label}" is a second floor server measured like a variant: how far apart two identical servers came out in this run (${ratio(again.ratio)}), i.e. how finely the other ratios can be read` : ""}.`,
    );
  }
  md.push("");

  const req = r.requests;
  if (req !== undefined) {
    md.push("## Per request", "", `![Requests per second relative to express-session alone](${svgName})`, "");
    md.push("### Signed in — against express-session alone with a loaded session", "");
    md.push(...requestTable(req.variants.filter((v) => v.floor === "signed-in")), "");
    md.push("### Signed out — against express-session alone, no cookie", "");
    md.push(...requestTable(req.variants.filter((v) => v.floor === "signed-out")), "");
    md.push(
      `The handler answers \`{ signedIn, user }\` from \`req.session\`, \`req.user\`, \`req.oidc.user\` or \`req.auth\`; every response was checked.${s["sliceS"] !== undefined && s["sliceS"] > 0 ? " A variant's latencies are the median over its turns of a second (a floor row's are its whole run's)." : ""} Provider token/userinfo requests while these ran: **${int(req.providerCalls)}** (a signed-in request must not call the provider; \`getToken()\` on a fresh token does not). "Server CPU" is the app process's user + system time divided by the responses of the round (everything: Express, the session, the library, GC). express-openid-connect keeps the whole session in an encrypted cookie (its default) and, rolling, re-encrypts it on every response.`,
      "",
      "flet-auth runs from its build (`dist/esm`, as installed). With sessions in express-session's MemoryStore its sign-in records (sealed: tokens, ID token, user) live in its own store and the session holds only the sign-in id, so express-session parses, hashes and compares a session about as small as the floor's; with a persistent session store, pass a shared `store` (`createRedisStore`) to get the same (docs/configuration.md, \"Where sign-ins live\"). After Express's `Object.setPrototypeOf` on each request and response, V8 (Node 20) builds a new hidden class for every property then added to either (2.0–2.5 µs each here), and since no two requests share one, every later read of them misses V8's lookup caches. flet-auth's first step on a request moves both objects to hash-table properties (a symbol property added and deleted again; no trace is left): every property added afterwards, here by flet-auth's own express-session, by flet-auth (`req.auth`, `req.authorizations`) and by the app, is a hash insert, and reads hit the caches again (lib/util/hashed-properties.ts; an express-session the app mounts ahead of flet-auth has added its properties before the step, a set-up not measured here). That step speeds up Express and the session themselves, so flet-auth can come out above the floor; the rows \"express-session alone after flet-auth's hash-table step\" measure the step alone, and the line below the tables reads flet-auth against them. Its defaults (`req.login`, `req.logout`, `req.authorizations`, `req.auth`) sit on Express's per-app request prototype rather than on every request object. flet-auth also reads the request as little as it can. It routes by `req.url` up to the query, as parseurl would, rather than through the `req.path` getter three prototypes up (which reads `req.url` and the parse cache again), and falls back to `req.path` only for the targets parseurl hands to `url.parse`; it asks whether `req.session` is an own property before reading it, so a signed-out request does not look it up through every prototype. The flet-auth variants run with its default in-memory store, as an app that sets no `store` does: a signed-in request reads its sign-in from it without a promise and goes on in the session load's own callback, and session loads share one deadline timer per instance rather than one `setTimeout` each. With Redis the read is a network round trip and takes the promise path.",
      "",
    );
  }

  const own = ownCost(r);
  if (own.length > 0) {
    md.push(
      `**flet-auth against the floor after the same step** (each flet-auth ratio divided by the ratio of "express-session alone after flet-auth's hash-table step" to the same floor, in this run: what flet-auth's own work costs once Express gets the same help): ${own.join("; ")}.`,
      "",
    );
  }

  const si = r.signIns;
  if (si !== undefined) {
    md.push("## Sign-in round trips", "");
    md.push(
      `${si.concurrency} browsers sign in concurrently, each sign-in with a new cookie jar: the app's login route, the provider's authorize endpoint (the mock consents at once), the app's callback (code exchange, ID token verification, session). Same provider, same user, interleaved rounds.`,
      "",
    );
    md.push("| variant | sign-ins/s (median) | rounds min–max | vs flet-auth | server CPU µs / sign-in | provider CPU µs / sign-in | latency p50 / p99 (ms) | token / userinfo calls per sign-in | failed |");
    md.push("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (const v of si.variants) {
      md.push(
        `| ${code(v.label)} | ${int(v.perSecond)} | ${int(v.perSecondMin)}–${int(v.perSecondMax)} | ${ratio(v.ratio)} | ${int(v.serverCpuUs)} | ${int(v.providerCpuUs)} | ${ms(v.p50Ms)} / ${ms(v.p99Ms)} | ${fixed(v.tokenCallsPerSignIn, 2)} / ${fixed(v.userinfoCallsPerSignIn, 2)} | ${int(v.failed)} of ${int(v.completed + v.failed)} |`,
      );
    }
    md.push("", "The provider signs two RS256 JWTs per token answer, so on 2 cores it takes a large share of the CPU; the server CPU per sign-in is the library's cost.", "");
  }

  const st = r.refreshStorm;
  if (st !== undefined) {
    md.push("## Refresh storm", "");
    md.push(`${st.concurrency} concurrent requests of **one** signed-in session, each needing the access token, just after it expired (the provider answered \`expires_in: 1\`); ${st.storms} storms, each on a new sign-in.`, "");
    md.push("| variant | provider refresh requests per storm | latency p50 / p99 / max (ms) | failed |", "|---|---:|---:|---:|");
    for (const v of st.variants) md.push(`| ${code(v.label)} | ${v.refreshCalls.join(", ")} | ${ms(v.p50Ms)} / ${ms(v.p99Ms)} / ${ms(v.maxMs)} | ${int(v.failed)} of ${int(st.concurrency * st.storms)} |`);
    md.push("", "flet-auth must make exactly one refresh request per storm (single flight); express-openid-connect has none, so each request refreshes on its own.", "");
  }

  const rm = r.rememberMe;
  if (rm !== undefined) {
    md.push("## Remember me", "");
    md.push(...requestTable(rm.variants), "");
    md.push(
      `A restore is a complete sign-in from the cookie: open it, re-fetch the user (row c), regenerate the session, seal the token for the store, rotate the series and re-seal the cookie. Each of the ${s["connections"]} connections is a returning browser that sends the cookie its previous response rotated to (and no session cookie), so every request restores. The provider saw ${int(rm.restoresAtProvider)} userinfo requests for ${int(rm.restoreResponses)} counted restores (the difference: requests in flight when a round ended); requests that reached it during (c2): ${int(rm.providerCallsNoFetch)}, during (d): ${int(rm.providerCallsForged)}.`,
      "",
      `Cookie crypto alone (${int(rm.cookieChars)}-character cookie, ${int(rm.loops)} calls each): open **${fixed(rm.openUs, 1)} µs**, forged cookie rejected **${fixed(rm.forgedUs, 1)} µs**, non-Fernet garbage ${fixed(rm.garbageUs, 2)} µs, seal ${fixed(rm.sealUs, 1)} µs. The key is derived once (PBKDF2-HMAC-SHA256, 600,000 iterations: ${int(rm.keyDerivationMs)} ms at start-up), so forged cookies cannot make the server run PBKDF2.`,
      "",
    );
  }

  const mem = r.memory;
  if (mem !== undefined) {
    const floor = mem.variants.find((v) => v.id === "session");
    md.push("## Memory per signed-in session", "");
    md.push(
      `${int(mem.variants[0]?.sessions ?? 0)} browsers sign in to each app (express-session's MemoryStore); heapUsed after two full GCs (\`--expose-gc\`) before and after, divided by the sessions. Everything the process keeps counts (session store, flet-auth's own store records and its cache of opened sign-in records).`,
      "",
    );
    md.push("| variant | heap bytes / session | vs express-session | session store bytes / session (JSON; flet-auth: + its store) | Cookie header a signed-in browser sends |", "|---|---:|---:|---:|---:|");
    for (const v of mem.variants) {
      md.push(
        `| ${code(v.label)} | ${int(v.heapBytesPerSession)} | ${floor !== undefined && floor.heapBytesPerSession > 0 ? ratio(v.heapBytesPerSession / floor.heapBytesPerSession) : "–"} | ${int(v.storeBytesPerSession)} | ${int(v.cookieBytes)} bytes (${v.cookieNames.join(", ")}) |`,
      );
    }
    md.push("");
  }

  const an = r.anonLogins;
  if (an !== undefined && an.blocks.length > 0) {
    const first = an.blocks[0];
    const last = an.blocks.at(-1);
    md.push("## Anonymous logins (issue 9)", "");
    md.push(
      `${int(an.logins)} logins without a cookie (\`GET /login/idp\`: a new session with a pending login and a page-registry entry); every ${an.callbackEvery === 2 ? "second" : `${an.callbackEvery}th`} comes back to the callback with \`error=access_denied\`, which claims its state (in process and in flet-auth's store) without a provider call; the rest are abandoned. \`loginTimeoutMs\` is ${int(an.loginTimeoutMs)} ms here so that expiry happens within the run (production: 10 minutes; the caps — 100,000 claimed states, 10,000 page entries, 100,000 store records — bound the structures whatever the timeout). The app's session store keeps the newest ${int(an.sessionStoreCap)} sessions, so the heap shows flet-auth's own memory; with express-session's MemoryStore every abandoned login would also leave its ${int(an.pendingSessionBytes)}-byte session there until the cookie expires.`,
      "",
    );
    if (first !== undefined && last !== undefined) {
      md.push(
        `**Per-login cost, first ${int(an.blockSize)} vs last ${int(an.blockSize)}:** ${int(first.serverCpuUsPerLogin)} → ${int(last.serverCpuUsPerLogin)} µs server CPU (${ratio(last.serverCpuUsPerLogin / first.serverCpuUsPerLogin)}), ${int(first.perSecond)} → ${int(last.perSecond)} logins/s. **Heap after GC:** ${fixed(an.heapStartMiB, 1)} MiB before, at most ${fixed(Math.max(...an.blocks.map((b) => b.heapMiB)), 1)} MiB, ${fixed(last.heapMiB, 1)} MiB after the last login. Failed: ${int(an.failed)}.`,
        "",
      );
    }
    md.push("| logins so far | logins/s | server CPU µs / login | heap after GC (MiB) |", "|---:|---:|---:|---:|");
    for (const b of an.blocks) md.push(`| ${int(b.upTo)} | ${int(b.perSecond)} | ${int(b.serverCpuUsPerLogin)} | ${fixed(b.heapMiB, 1)} |`);
    md.push("");
  }

  const el = r.eventLoop;
  if (el !== undefined) {
    const idle = el.rows[0];
    md.push("## `flet-auth/security` and the event loop", "");
    md.push(`Flet's \`decrypt\` runs PBKDF2 with 600,000 iterations per call; flet-auth's async \`decrypt\` runs it on libuv's thread pool. Event-loop delay (ms) while ${el.decrypts} decrypts run:`, "");
    md.push("| scenario | p50 | p99 | max | wall | p99 vs idle |", "|---|---:|---:|---:|---:|---:|");
    for (const row of el.rows) {
      md.push(`| ${code(row.label).replace(/(decryptSync|decrypt)\b/, "`$1`")} | ${fixed(row.p50Ms, 1)} | ${fixed(row.p99Ms, 1)} | ${fixed(row.maxMs, 1)} | ${row.wallMs === null ? "–" : `${int(row.wallMs)} ms`} | ${idle !== undefined ? ratio(row.p99Ms / idle.p99Ms) : "–"} |`);
    }
    md.push("", `Sealer (key derived once), token JSON of ${int(el.tokenBytes)} bytes:`, "", "| operation | per second | µs each |", "|---|---:|---:|");
    for (const row of el.sealer) md.push(`| ${row.label} | ${int(row.perSecond)} | ${fixed(1e6 / row.perSecond, 1)} |`);
    md.push("", "Use the async functions in servers; `encryptSync`/`decryptSync` are for scripts.", "");
  }

  md.push("## Reproduce", "", "```sh", "npm install", `${r.command}${r.command.includes("BENCH_") ? "" : "   # defaults: BENCH_DURATION=3 BENCH_ROUNDS=3"}`, "npm run bench:report   # redraw this page and the chart from bench/results/latest.json", "```", "");
  return `${md.join("\n")}`;
}

const svgName = relative(join(mdPath, ".."), svgPath) || "performance.svg";
writeFileSync(svgPath, chart(run));
writeFileSync(mdPath, page(run, svgName));
console.log(`Wrote ${relative(ROOT, mdPath)} and ${relative(ROOT, svgPath)} from ${relative(ROOT, input) || input}.`);
