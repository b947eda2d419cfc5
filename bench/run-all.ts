/**
 * `npm run bench`: every benchmark, one after the other, each in its own process.
 *
 *   node --import tsx bench/run-all.ts
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";

const BENCHES = ["overhead.ts", "remember-me.ts", "security-eventloop.ts"];

for (const file of BENCHES) {
  console.log(`\n<!-- bench/${file} -->\n`);
  const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(new URL(`./${file}`, import.meta.url))], { stdio: "inherit" });
  const [code] = (await once(child, "exit")) as [number | null];
  if (code !== 0) {
    console.error(`bench/${file} failed (exit ${String(code)})`);
    process.exitCode = 1;
  }
}
