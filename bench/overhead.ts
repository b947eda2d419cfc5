/**
 * What a signed-in (and a signed-out) request costs with flet-auth and with its peers, each
 * against express-session alone measured in the same run:
 *
 *   node --import tsx bench/overhead.ts       (env BENCH_DURATION seconds per round, BENCH_ROUNDS rounds)
 *
 * Every variant is its own server child (bench/server.ts), started anew for every round; all are
 * measured interleaved round by round (a, b, c, … c, b, a, …) with autocannon, each taking turns
 * of a second with a twin of its floor (bench/common.ts measureAll), and the median round is kept.
 *
 * Signed in — floor: express-session alone with a loaded session (the bench profile, a few
 * hundred bytes, stored by `GET /signin-session`):
 *   express-session alone again, a second server measured like a variant (the bench's own spread);
 *   passport 0.7 + passport-local + express-session, the handler reading `req.user`;
 *   express-openid-connect (its default encrypted cookie session), signed in at the provider
 *   (oauth2-mock-server), the handler reading `req.oidc.user`;
 *   flet-auth (its default in-memory store) signed in at the same provider, the handler reading `req.auth`;
 *   flet-auth, the handler awaiting `req.auth.getToken()` on a fresh token (no refresh);
 *   express-session alone after flet-auth's first step and nothing else of it (request and
 *   response moved to hash-table properties, lib/util/hashed-properties.ts): what that step saves.
 * Signed out — floor: express-session alone, no cookie:
 *   bare Express (no middleware at all), passport, express-openid-connect, flet-auth, and the
 *   floor after flet-auth's first step.
 */
import { Jar, signIn } from "./browser.js";
import { ROUNDS, machineNotes, me, measureAll, mergeMeasured, pinSelf, pinning, printTable, startProvider, startServer, withRatios, type Measured, type RunningServer, type Scenario } from "./common.js";
import { BENCH_PROFILE, BENCH_PROFILE_BYTES } from "./profile.js";
import { AA_CHECK_ID, HASHED_IN_ID, HASHED_OUT_ID, writePart, type Floor } from "./results.js";

interface Variant {
  readonly id: string;
  readonly label: string;
  readonly floor: Floor;
  readonly isFloor?: boolean;
  readonly server: RunningServer;
  readonly cookie?: string;
  readonly path?: string;
  readonly expect: "signedIn" | "signedOut" | "token" | "any";
}

const BODY_CHECK: Record<Variant["expect"], ((b: string) => boolean) | undefined> = {
  signedIn: (b) => b.includes('"signedIn":true'),
  signedOut: (b) => b.includes('"signedIn":false'),
  token: (b) => b.includes('"accessTokenLength"'),
  any: undefined,
};

async function signedInCookie(server: RunningServer, how: () => Promise<Jar>): Promise<string> {
  const cookie = (await how()).header();
  const answer = await me(server, cookie);
  if (!answer.signedIn || answer.user !== BENCH_PROFILE.sub) throw new Error(`${server.kind}: the sign-in did not sign in (${JSON.stringify(answer)})`);
  return cookie;
}

/** Signs in at an express-session server (`GET /signin-session`), as its app would. */
async function sessionSignIn(server: RunningServer): Promise<Jar> {
  const jar = new Jar();
  await jar.get(`${server.url}/signin-session`);
  return jar;
}

/** One round's servers, signed in: the variants, then a twin of its floor for every non-floor variant. */
interface RoundServers {
  readonly variants: Variant[];
  readonly twins: Variant[];
  readonly twinOf: ReadonlyMap<number, number>;
  readonly servers: RunningServer[];
}

async function startRound(providerUrl: string): Promise<RoundServers> {
  const kinds = ["bare", "session", "session", "session", "passport", "passport", "eoc", "eoc", "fletauth", "fletauth", "fletauth", "session-hashed", "session-hashed"] as const;
  // flet-auth as an app runs it without a `store` option: its default in-memory store.
  const servers = await Promise.all(kinds.map((k) => startServer(k, providerUrl, { pinned: true, ...(k === "fletauth" ? { env: { BENCH_COUNTED_STORE: "0" } } : {}) })));
  const [bare, sessionNone, sessionLoaded, sessionAgain, passportIn, passportOut, eocIn, eocOut, fletIn, fletToken, fletOut, hashedIn, hashedOut] = servers as [
    RunningServer, RunningServer, RunningServer, RunningServer, RunningServer, RunningServer, RunningServer, RunningServer, RunningServer, RunningServer, RunningServer,
    RunningServer, RunningServer,
  ];
  try {
    const floorCookie = await signedInCookie(sessionLoaded, () => sessionSignIn(sessionLoaded));
    const againCookie = await signedInCookie(sessionAgain, () => sessionSignIn(sessionAgain));
    const passportCookie = await signedInCookie(passportIn, async () => {
      const jar = new Jar();
      const answer = await jar.postForm(`${passportIn.url}/signin-passport`, { username: BENCH_PROFILE.email, password: "bench-password" });
      if (answer.status !== 200) throw new Error(`passport sign-in answered ${answer.status}`);
      return jar;
    });
    const eocCookie = await signedInCookie(eocIn, () => signIn(eocIn.url, "/login"));
    const fletCookie = await signedInCookie(fletIn, () => signIn(fletIn.url, "/login/idp"));
    const fletTokenCookie = await signedInCookie(fletToken, () => signIn(fletToken.url, "/login/idp"));
    const hashedCookie = await signedInCookie(hashedIn, () => sessionSignIn(hashedIn));

    const variants: Variant[] = [
      { id: "session-loaded", label: `express-session alone, loaded session (${BENCH_PROFILE_BYTES}-byte user)`, floor: "signed-in", isFloor: true, server: sessionLoaded, cookie: floorCookie, expect: "signedIn" },
      // The floor measured against its twin like any variant: how far apart two identical servers
      // come out in this run, i.e. how finely the other ratios can be read.
      { id: AA_CHECK_ID, label: "express-session alone again (A/A check)", floor: "signed-in", server: sessionAgain, cookie: againCookie, expect: "signedIn" },
      { id: "passport-in", label: "passport 0.7 + express-session, signed in, reading req.user", floor: "signed-in", server: passportIn, cookie: passportCookie, expect: "signedIn" },
      { id: "eoc-in", label: "express-openid-connect, signed in, reading req.oidc.user", floor: "signed-in", server: eocIn, cookie: eocCookie, expect: "signedIn" },
      { id: "fletauth-in", label: "flet-auth, signed in, reading req.auth", floor: "signed-in", server: fletIn, cookie: fletCookie, expect: "signedIn" },
      { id: "fletauth-token", label: "flet-auth, signed in, await req.auth.getToken() (fresh token)", floor: "signed-in", server: fletToken, cookie: fletTokenCookie, path: "/token", expect: "token" },
      // flet-auth's first step without flet-auth (lib/util/hashed-properties.ts): what it saves
      // Express and the session, so that flet-auth's own cost can be read against it too.
      { id: HASHED_IN_ID, label: "express-session alone after flet-auth's hash-table step", floor: "signed-in", server: hashedIn, cookie: hashedCookie, expect: "signedIn" },
      { id: "session-none", label: "express-session alone, no cookie", floor: "signed-out", isFloor: true, server: sessionNone, expect: "signedOut" },
      { id: "bare", label: "bare Express (no middleware)", floor: "signed-out", server: bare, expect: "signedOut" },
      { id: "passport-out", label: "passport 0.7 + express-session, signed out", floor: "signed-out", server: passportOut, expect: "signedOut" },
      { id: "eoc-out", label: "express-openid-connect, signed out", floor: "signed-out", server: eocOut, expect: "signedOut" },
      { id: "fletauth-out", label: "flet-auth, signed out", floor: "signed-out", server: fletOut, expect: "signedOut" },
      { id: HASHED_OUT_ID, label: "express-session alone after flet-auth's hash-table step, no cookie", floor: "signed-out", server: hashedOut, expect: "signedOut" },
    ];
    // Every variant gets a twin of its floor, in a process of its own, measured right next to it
    // (measureAll): each server then runs once per round and idles as long as its twin. A single
    // floor run next to every variant ran four times as often as any variant, and the idle time
    // between runs costs a Node server speed (about 10 % here: every peer fell behind by as much).
    const twinOf = new Map<number, number>();
    const twins: Variant[] = [];
    const floors = variants.map((v) => (v.isFloor === true ? undefined : (variants.find((f) => f.isFloor === true && f.floor === v.floor) as Variant)));
    const twinServers = await Promise.all(floors.map((f) => (f === undefined ? undefined : startServer("session", providerUrl, { pinned: true }))));
    for (const [i, floor] of floors.entries()) {
      const server = twinServers[i];
      if (floor === undefined || server === undefined) continue;
      servers.push(server);
      const cookie = floor.floor === "signed-in" ? await signedInCookie(server, () => sessionSignIn(server)) : undefined;
      twinOf.set(i, variants.length + twinOf.size);
      twins.push({ ...floor, id: `${floor.id}-twin-${variants[i]!.id}`, server, ...(cookie !== undefined ? { cookie } : {}) });
    }
    return { variants, twins, twinOf, servers };
  } catch (err) {
    await Promise.all(servers.map((s) => s.stop()));
    throw err;
  }
}

function scenarioOf(v: Variant): Scenario {
  const verifyBody = BODY_CHECK[v.expect];
  return {
    name: v.label,
    server: v.server,
    options: {
      ...(v.path !== undefined ? { path: v.path } : {}),
      ...(v.cookie !== undefined ? { headers: { cookie: v.cookie } } : {}),
      ...(verifyBody !== undefined ? { verifyBody } : {}),
    },
  };
}

async function main(): Promise<void> {
  // With pinning (common.ts): every app on one CPU, autocannon (this process) on another, so the
  // app measured has a core to itself and the load generator never takes it; only one app takes
  // load at a time, the others idle. Before the provider starts, which then shares autocannon's
  // CPU (signed-in requests never reach it).
  pinSelf();
  const provider = await startProvider();
  try {
    // Every round on freshly started servers: a Node process has a speed of its own (JIT
    // decisions, memory layout) that differed by up to 16 % between identical express-session
    // servers here, and kept for a whole run it would bias every ratio of that server's variant.
    // Started anew each round, it is one more thing the median over the rounds evens out.
    const parts: Measured[][] = [];
    let providerCalls = 0;
    let variants: Variant[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const round = await startRound(provider.url);
      variants = round.variants;
      try {
        const before = await provider.stats();
        const rows = await measureAll([...round.variants, ...round.twins].map(scenarioOf), (i) => round.twinOf.get(i), { rounds: 1, firstRound: r });
        const after = await provider.stats();
        providerCalls += after.authorizationCode + after.refreshToken + after.userinfo - (before.authorizationCode + before.refreshToken + before.userinfo);
        parts.push(rows.slice(0, round.variants.length));
      } finally {
        await Promise.all(round.servers.map((s) => s.stop()));
      }
    }
    const rows = mergeMeasured(parts);
    const results = withRatios(variants, rows);
    writePart("requests", { variants: results, providerCalls, ...(pinning !== undefined ? { pinned: pinning } : {}) });

    console.log(`## Per-request cost against express-session alone\n\n${machineNotes()}; every round on freshly started servers${pinning !== undefined ? `; servers on CPU ${pinning.serverCpu}, autocannon on CPU ${pinning.loadCpu}` : ""}\n`);
    for (const floor of ["signed-in", "signed-out"] as const) {
      const idx = variants.flatMap((v, i) => (v.floor === floor ? [i] : []));
      console.log(`\n### ${floor} (ratio to ${variants[idx[0] as number]?.label})\n`);
      printTable(
        idx.map((i) => rows[i] as Measured),
        rows[idx[0] as number] as Measured,
      );
    }
    console.log(`\nProvider token/userinfo requests while the variants ran: ${providerCalls} (a signed-in request must not call the provider).`);
    if (providerCalls !== 0) process.exitCode = 1;
  } finally {
    await provider.stop();
  }
}

await main();
