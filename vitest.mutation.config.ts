/**
 * The suites Stryker runs for every mutant (`npm run test:mutation`, see docs/testing.md): the
 * unit and integration suites that run in-process against loopback servers. Left out are the
 * suites that start browsers, external servers or child processes, or pack the package — they
 * are slow per run and add no kills of their own in lib/.
 */
import { configDefaults, defineConfig } from "vitest/config";
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

/**
 * Suites that need a module graph of their own: they replace modules with `vi.mock` (which must
 * run before anything imports them), count a warning express-session prints once per process, or
 * set a V8 flag for the whole process (hashed-properties.test.ts: natives syntax).
 * Everything else shares one module graph per run (`isolate: false`): Stryker runs the covering
 * files once per mutant, and importing lib/ afresh for each of them cost more than the tests.
 */
export const NEEDS_ISOLATION = [
  "test/integration/records-in-session.test.ts",
  "test/integration/tokens-at-rest.test.ts",
  "test/unit/config.test.ts",
  "test/unit/crypto/aes-gcm.test.ts",
  "test/unit/crypto/keys-cache.test.ts",
  "test/unit/crypto/lenient-decrypt.test.ts",
  "test/unit/crypto/security.test.ts",
  "test/unit/util/hashed-properties.test.ts",
];

// Not merged with vitest.config.ts: a project that extends a config adds its own `include` to
// the inherited one, so the base's `test/**` would put every suite in both projects.
export default defineConfig({
  resolve: base.resolve,
  test: {
    // A mutant that makes a request hang is a kill (a timeout); do not wait 30 s for it.
    testTimeout: 10_000,
    hookTimeout: 20_000,
    projects: [
      { extends: true, test: { name: "isolated", include: NEEDS_ISOLATION, isolate: true } },
      {
        extends: true,
        test: { name: "shared", include: ["test/**/*.test.ts"], exclude: [...configDefaults.exclude, ...MUTATION_EXCLUDE, ...NEEDS_ISOLATION], isolate: false },
      },
    ],
  },
});
