/**
 * vitest.mutation.config.ts runs most suites in one shared module graph (`isolate: false`) and
 * only the suites of NEEDS_ISOLATION each in a graph of its own. A suite that replaces a module
 * with `vi.mock` needs its own graph: in the shared one, lib/ is already imported by an earlier
 * file, so the mock would silently not apply and the suite would test the real module (or fail).
 * This check fails when such a suite is added without being listed.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { MUTATION_EXCLUDE, NEEDS_ISOLATION } from "../../vitest.mutation.config.js";

const ROOT = new URL("../..", import.meta.url).pathname;

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return testFiles(path);
    return entry.name.endsWith(".test.ts") ? [relative(ROOT, path)] : [];
  });
}

// A glob of the exclusion list as a pattern: "**" then "/" is any folders (or none), "**" anything, "*" anything within a name.
function globPattern(glob: string): RegExp {
  const body = glob
    .split(/(\*\*\/|\*\*|\*)/)
    .map((part) => (part === "**/" ? "(?:.*/)?" : part === "**" ? ".*" : part === "*" ? "[^/]*" : part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")))
    .join("");
  return new RegExp(`^${body}$`);
}
const EXCLUDED = MUTATION_EXCLUDE.map(globPattern);
const excluded = (file: string): boolean => EXCLUDED.some((pattern) => pattern.test(file));

describe("the mutation suite's shared module graph", () => {
  const files = testFiles(join(ROOT, "test")).filter((file) => !excluded(file));

  it("every suite that mocks a module (vi.mock, vi.doMock) is listed in NEEDS_ISOLATION", () => {
    const mocking = files.filter((file) => /\bvi\.(do)?[mM]ock\(/.test(readFileSync(join(ROOT, file), "utf8")));
    expect(mocking.length).toBeGreaterThan(0);
    expect(mocking.filter((file) => !NEEDS_ISOLATION.includes(file))).toEqual([]);
  });

  it("every suite listed in NEEDS_ISOLATION exists and is in the mutation suite", () => {
    expect(NEEDS_ISOLATION.filter((file) => !files.includes(file))).toEqual([]);
  });

  it("the exclusion patterns are read as the config means them", () => {
    expect(excluded("test/e2e/popup.test.ts")).toBe(true);
    expect(excluded("test/integration/shared-redis.test.ts")).toBe(true);
    expect(excluded("test/unit/oidc-server.test.ts")).toBe(true);
    expect(excluded("test/unit/config.test.ts")).toBe(false);
  });
});
