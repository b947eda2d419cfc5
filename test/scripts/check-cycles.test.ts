import { execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";

const SCRIPT = new URL("../../scripts/check-cycles.mjs", import.meta.url).pathname;

function run(dir: string): { code: number; out: string } {
  try {
    return { code: 0, out: execFileSync(process.execPath, [SCRIPT, dir], { encoding: "utf8", stdio: "pipe" }) };
  } catch (err) {
    const e = err as { status: number; stderr: string };
    return { code: e.status, out: e.stderr };
  }
}

describe("scripts/check-cycles.mjs (part of npm test)", () => {
  let dir = "";
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function tree(files: Record<string, string>): string {
    dir = mkdtempSync(join(tmpdir(), "cycles-"));
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(join(dir, path, ".."), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    return dir;
  }

  it("fails on a cycle through a type-only import across folders, naming the files", () => {
    const result = run(tree({
      "a.ts": 'import { b } from "./sub/b.js";\nexport const a = b;\n',
      "sub/b.ts": 'import type { C } from "../c.js";\nexport const b: C = 1;\n',
      "c.ts": 'import { a } from "./a.js";\nexport type C = typeof a;\n',
    }));
    expect(result.code).toBe(1);
    expect(result.out).toMatch(/import cycle: .*a\.ts → .*sub\/b\.ts → .*c\.ts → .*a\.ts/);
  });

  it("passes a tree without cycles (and ignores package imports)", () => {
    const result = run(tree({
      "a.ts": 'import express from "express";\nimport { b } from "./b.js";\nexport const a = [express, b];\n',
      "b.ts": "export const b = 1;\n",
    }));
    expect(result.code).toBe(0);
  });

  it("lib/ itself has no cycles", () => {
    const result = run(new URL("../../lib", import.meta.url).pathname);
    dir = "";
    expect(result).toEqual({ code: 0, out: expect.stringMatching(/no import cycles/) });
  });
});
