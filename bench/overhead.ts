/**
 * What fletAuth costs per request, against bare Express (same machine, same run):
 *
 *   node --import tsx bench/overhead.ts          (BENCH_DURATION=5 BENCH_ROUNDS=3 by default 3 × 3 s)
 *
 *   (1) bare Express route;
 *   (2) express-session alone (MemoryStore), no cookie;
 *   (3) fletAuth (its own express-session), signed out, no cookie;
 *   (4) fletAuth, signed in: a session cookie from a real login through the fake provider; the
 *       route reads req.auth (session load + sealed token opened + Authorization built).
 */
import { startFakeProvider } from "../test/helpers/fake-provider.js";
import { cookieHeader, login, machineNotes, me, measureAll, printTable, startServer, type Measured } from "./common.js";

async function main(): Promise<void> {
  const fake = await startFakeProvider({ accessTokenTtl: 3600 });
  const bare = await startServer("bare", fake.url);
  const sessionOnly = await startServer("session", fake.url);
  const signedOut = await startServer("fletauth", fake.url);
  const signedIn = await startServer("fletauth", fake.url);
  let rows: Measured[];
  try {
    const jar = await login(signedIn, fake, "/login/idp");
    const cookie = cookieHeader(jar);
    if (!(await me(signedIn, cookie)).signedIn) throw new Error("the login did not sign in");
    const userinfo = fake.count("/userinfo");
    rows = await measureAll([
      { name: "(1) bare Express", server: bare, options: {} },
      { name: "(2) express-session alone, no cookie", server: sessionOnly, options: {} },
      { name: "(3) fletAuth, signed out, no cookie", server: signedOut, options: { verifyBody: (b) => b.includes('"signedIn":false') } },
      {
        name: "(4) fletAuth, signed in (session cookie), reading req.auth",
        server: signedIn,
        options: { headers: { cookie }, verifyBody: (b) => b.includes('"signedIn":true') },
      },
    ]);
    if (fake.count("/userinfo") !== userinfo) throw new Error("a signed-in request called the provider");
  } finally {
    await Promise.all([bare.stop(), sessionOnly.stop(), signedOut.stop(), signedIn.stop()]);
    await fake.close();
  }
  console.log(`## Per-request overhead\n\n${machineNotes()}\n`);
  printTable(rows, rows[0] as Measured);
}

await main();
