#!/usr/bin/env node
// Makes the next incremental Stryker run test the surviving mutants again.
//
// Stryker's incremental mode reuses a mutant's result while its code and covering tests look
// unchanged to it. Here, survivors that tests added since kill by hand kept their "Survived"
// result across a rerun, so before scores are recorded the survivors are dropped from the report:
// the next run treats them as new mutants and tests them. Killed results are kept, so the rerun
// stays cheap.
//
// Usage: node scripts/mutation-retest.mjs [report] [path-prefix...]
//   report       defaults to reports/stryker-incremental.json
//   path-prefix  only survivors in files under these prefixes (e.g. lib/refresh/); default all
import { readFileSync, writeFileSync } from "node:fs";

const [file = "reports/stryker-incremental.json", ...prefixes] = process.argv.slice(2);
const report = JSON.parse(readFileSync(file, "utf8"));
const undetected = new Set(["Survived", "NoCoverage"]);
let dropped = 0;
for (const [path, entry] of Object.entries(report.files ?? {})) {
  if (prefixes.length > 0 && !prefixes.some((prefix) => path.startsWith(prefix))) continue;
  const kept = entry.mutants.filter((mutant) => !undetected.has(mutant.status));
  dropped += entry.mutants.length - kept.length;
  entry.mutants = kept;
}
writeFileSync(file, JSON.stringify(report));
console.log(`${dropped} surviving mutant result(s) dropped from ${file}; the next run tests them again.`);
