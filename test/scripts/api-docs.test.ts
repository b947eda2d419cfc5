/**
 * `npm run docs:api` (TypeDoc, typedoc.json) builds the API reference of both entry points
 * without a single warning: every export of lib/index.ts and lib/security.ts is documented, and
 * every {@link} resolves. The output goes to a temporary directory, never to docs/api.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = new URL("../..", import.meta.url).pathname;
const TYPEDOC = join(ROOT, "node_modules", "typedoc", "bin", "typedoc");

/** Runs TypeDoc with the options file `options` plus `args`; never throws. */
async function typedoc(options: string, args: readonly string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [TYPEDOC, "--options", options, ...args], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" },
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, output: `${stdout}${stderr}` };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : 1, output: `${e.stdout ?? ""}${e.stderr ?? ""}` };
  }
}

describe("API reference (npm run docs:api)", () => {
  const dirs: string[] = [];
  const tempDir = (prefix: string): string => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(dir);
    return dir;
  };
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it("builds with warnings treated as errors, a page per entry point", async () => {
    const out = tempDir("api-docs-");
    const { code, output } = await typedoc(join(ROOT, "typedoc.json"), ["--out", out, "--treatWarningsAsErrors"]);
    expect(output, output).not.toMatch(/\[warning\]|\[error\]/);
    expect(code, output).toBe(0);
    expect(existsSync(join(out, "index.html"))).toBe(true);
    const main = readFileSync(join(out, "modules", "flet-auth.html"), "utf8");
    for (const name of ["fletAuth", "OAuthProvider", "GitHubOAuthProvider", "Authorization", "FletAuthError", "LoginOptions"]) {
      expect(main).toContain(name);
    }
    const security = readFileSync(join(out, "modules", "flet-auth_security.html"), "utf8");
    for (const name of ["encrypt", "decrypt", "encryptSync", "decryptSync", "encryptAesGcm256", "decryptAesGcm256"]) {
      expect(security).toContain(name);
    }
    // The TSDoc examples reach the reference.
    expect(readFileSync(join(out, "functions", "flet-auth.fletAuth.html"), "utf8")).toContain("Example");
  }, 120_000);

  it("an undocumented export fails the build (the check is live)", async () => {
    const dir = tempDir("api-docs-fixture-");
    writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions: { strict: true, module: "NodeNext", moduleResolution: "NodeNext", target: "ES2022" }, include: ["*.ts"] }));
    writeFileSync(join(dir, "entry.ts"), "/** Documented. */\nexport const documented = 1;\nexport function undocumented(): number {\n  return 2;\n}\n");
    // The project's options, on a one-file project (paths in an options file are its own).
    const options = { extends: [join(ROOT, "typedoc.json")], entryPoints: ["entry.ts"], tsconfig: "tsconfig.json", name: "fixture", intentionallyNotExported: [] };
    writeFileSync(join(dir, "typedoc.json"), JSON.stringify(options));
    const { code, output } = await typedoc(join(dir, "typedoc.json"), ["--emit", "none", "--treatWarningsAsErrors"]);
    expect(code).not.toBe(0);
    expect(output).toMatch(/undocumented \(CallSignature\).* does not have any documentation/);
    expect(output).not.toMatch(/\bdocumented \(/);
  }, 120_000);
});
