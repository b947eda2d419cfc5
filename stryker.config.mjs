// Mutation testing (docs/testing.md): `npm run test:mutation`, or one folder with
// `npm run test:mutation -- --mutate "lib/flow/**/*.ts"`.
import { tmpdir } from "node:os";
import { join } from "node:path";

/** @type {import("@stryker-mutator/api/core").PartialStrykerOptions} */
export default {
  packageManager: "npm",
  mutate: [
    "lib/**/*.ts",
    // Re-exports and declarations only: nothing to mutate.
    "!lib/index.ts",
    "!lib/security.ts",
    "!lib/augment.ts",
    "!lib/runtime.ts",
    "!lib/session/data.ts",
  ],
  testRunner: "vitest",
  vitest: { configFile: "vitest.mutation.config.ts" },
  checkers: ["typescript"],
  tsconfigFile: "tsconfig.json",
  coverageAnalysis: "perTest",
  // Results are kept (and committed) so that a rerun only tests the mutants whose code or
  // covering tests changed; a run of one folder keeps the other folders' results.
  incremental: true,
  incrementalFile: "reports/stryker-incremental.json",
  // The machine is shared: two test processes at most (`--concurrency 1` to be gentler still).
  concurrency: 2,
  // A run over all of lib/ instruments about 6,000 mutants, and the dry run's per-test coverage
  // of the whole suite outgrew the test runner's default heap (it ran out of memory twice and
  // stopped); runs of one folder never came near it.
  // The initial run over all of lib/ (every mutant instrumented, per-test coverage) ran out of
  // 6 GB twice on 2026-12-03 and used about 7 GB with 10; two runners of 10 GB fit 24 GiB.
  testRunnerNodeArgs: ["--max-old-space-size=10240"],
  // As every recorded run was made (docs/testing.md): module-level code counts as covered only by
  // the tests that import it inside a test body.
  ignoreStatic: true,
  // On top of 1.5 × the covering tests' own time: a mutant that hangs a request is a timeout.
  timeoutMS: 10_000,
  reporters: ["clear-text", "progress", "html"],
  htmlReporter: { fileName: "reports/mutation/index.html" },
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
  thresholds: { high: 95, low: 90, break: null },
  // Sandboxes live outside the working tree, so that `eslint .`, `tsc` and vitest of the people
  // working in this tree never see a sandbox's instrumented copy of lib/.
  tempDirName: join(tmpdir(), "flet-auth-stryker"),
  cleanTempDir: "always",
  // Only what the mutation suite and the type check need is copied into a sandbox.
  ignorePatterns: ["/dist", "/coverage", "/reports", "/bench", "/test-results", "/.tmp", "/.ci", "*.tgz"],
};
