import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";

const SCRIPT = new URL("../../scripts/mutation-retest.mjs", import.meta.url).pathname;

interface Mutant {
  id: string;
  status: string;
}

function report(): { files: Record<string, { mutants: Mutant[] }> } {
  return {
    files: {
      "lib/a/x.ts": { mutants: [{ id: "1", status: "Killed" }, { id: "2", status: "Survived" }, { id: "3", status: "NoCoverage" }] },
      "lib/b/y.ts": { mutants: [{ id: "4", status: "Survived" }, { id: "5", status: "Timeout" }, { id: "6", status: "Ignored" }, { id: "7", status: "CompileError" }] },
    },
  };
}

describe("scripts/mutation-retest.mjs", () => {
  let dir = "";
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function run(...prefixes: string[]): { out: string; ids: Record<string, string[]> } {
    dir = mkdtempSync(join(tmpdir(), "retest-"));
    const file = join(dir, "incremental.json");
    writeFileSync(file, JSON.stringify(report()));
    const out = execFileSync(process.execPath, [SCRIPT, file, ...prefixes], { encoding: "utf8" });
    const after = JSON.parse(readFileSync(file, "utf8")) as ReturnType<typeof report>;
    return { out, ids: Object.fromEntries(Object.entries(after.files).map(([path, f]) => [path, f.mutants.map((m) => m.id)])) };
  }

  it("drops every Survived and NoCoverage result and keeps the rest", () => {
    const { out, ids } = run();
    expect(ids).toEqual({ "lib/a/x.ts": ["1"], "lib/b/y.ts": ["5", "6", "7"] });
    expect(out).toMatch(/^3 surviving mutant result\(s\) dropped/);
  });

  it("with path prefixes, only survivors under them", () => {
    const { out, ids } = run("lib/b/");
    expect(ids).toEqual({ "lib/a/x.ts": ["1", "2", "3"], "lib/b/y.ts": ["5", "6", "7"] });
    expect(out).toMatch(/^1 surviving mutant result\(s\) dropped/);
  });
});
