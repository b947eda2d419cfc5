import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  // Examples import "flet-auth" as an app would; resolve it to the sources under test.
  resolve: {
    alias: [
      { find: /^flet-auth\/security$/, replacement: fileURLToPath(new URL("./lib/security.ts", import.meta.url)) },
      { find: /^flet-auth$/, replacement: fileURLToPath(new URL("./lib/index.ts", import.meta.url)) },
    ],
  },
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration suites bind loopback servers; keep files in separate workers.
    pool: "forks",
    reporters: ["default"],
  },
});
