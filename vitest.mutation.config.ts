/**
 * The suites Stryker runs for every mutant (`npm run test:mutation`, see docs/testing.md): the
 * unit and integration suites that run in-process against loopback servers. Left out are the
 * suites that start browsers, external servers or child processes, or pack the package — they
 * are slow per run and add no kills of their own in lib/.
 */
import { configDefaults, defineConfig, mergeConfig } from "vitest/config";
import base from "./vitest.config.js";

export const MUTATION_EXCLUDE = [
  "test/e2e/**", // Chromium and oidc-provider
  "test/package/**", // npm pack + install
  "test/interop/**", // Flet's Python
  "test/examples/**", // the example apps
  "test/scripts/**", // the import-cycle script (reads files, not behaviour)
  "test/**/*redis*.test.ts", // redis-server
  "test/unit/oidc-server.test.ts", // oidc-provider
];

export default mergeConfig(
  base,
  defineConfig({
    test: {
      exclude: [...configDefaults.exclude, ...MUTATION_EXCLUDE],
      // A mutant that makes a request hang is a kill (a timeout); do not wait 30 s for it.
      testTimeout: 10_000,
      hookTimeout: 20_000,
    },
  }),
);
