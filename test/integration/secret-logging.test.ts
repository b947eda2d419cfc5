/**
 * Checklist 17 (RFC 9700 §4.2/§4.3): with debug logging on, a code exchange and a refresh through
 * `createOAuthHttp()` print neither the client secret, the code, the verifier nor any token —
 * simple-oauth2's `debug` output would print its request payload, secret included. The work runs
 * in a child process (test/fixtures/secret-logging-child.ts) so DEBUG is read as in production.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CHILD = fileURLToPath(new URL("../fixtures/secret-logging-child.ts", import.meta.url));

interface Secrets {
  clientSecret: string;
  code: string;
  codeVerifier: string;
  accessToken: string;
  refreshToken: string;
  refreshedAccessToken: string;
  refreshedRefreshToken: string;
}

interface ChildRun {
  code: number | null;
  output: string;
  secrets: Secrets;
}

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function runChild(debug: string, mode: "plain" | "control" | "reenable" = "plain"): Promise<ChildRun> {
  const dir = mkdtempSync(join(tmpdir(), "flet-auth-secret-logging-"));
  dirs.push(dir);
  const secretsFile = join(dir, "secrets.json");
  const env: NodeJS.ProcessEnv = { ...process.env, DEBUG: debug, DEBUG_COLORS: "no", SECRETS_OUT: secretsFile };
  delete env["NODE_OPTIONS"];
  if (mode === "control") env["FLET_AUTH_CONTROL"] = "1";
  if (mode === "reenable") env["FLET_AUTH_REENABLE"] = "1";
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", CHILD], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
    child.on("error", reject);
    child.on("close", (code) => {
      try {
        resolve({ code, output, secrets: JSON.parse(readFileSync(secretsFile, "utf8")) as Secrets });
      } catch (err) {
        reject(new Error(`child exited ${code} without writing its secrets:\n${output}`, { cause: err }));
      }
    });
  });
}

/** The secrets (and their URL-encoded forms, as a form body would carry them) found in `output`. */
function leaked(output: string, secrets: Secrets): string[] {
  const found: string[] = [];
  for (const [name, value] of Object.entries(secrets)) {
    expect(value.length, name).toBeGreaterThan(8);
    if (output.includes(value) || output.includes(encodeURIComponent(value))) found.push(name);
  }
  return found;
}

describe("no secrets in debug output", () => {
  it.each(["*", "simple-oauth2:*,other:*", "simple-oauth2:client,other:ns"])(
    "DEBUG=%j: the child's output has debug lines but no secret, code or token",
    async (debug) => {
      const run = await runChild(debug);
      expect(run.code, run.output).toBe(0);
      // Debug output is on: the child's own namespace printed, and the failures were logged.
      expect(run.output).toMatch(/other:ns debug output is on/);
      expect(run.output).toMatch(/other:ns token refreshed/);
      expect(run.output).toMatch(/refresh failed:/);
      expect(run.output).toMatch(/exchange failed:/);
      expect(leaked(run.output, run.secrets)).toEqual([]);
      expect(run.output).not.toMatch(/client_secret=/);
    },
  );

  it("an app re-enabling every namespace after createOAuthHttp() still gets no secret in the output", async () => {
    const run = await runChild("*", "reenable");
    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/other:ns token refreshed/);
    expect(leaked(run.output, run.secrets)).toEqual([]);
  });

  it("control: when the secrets are printed, the check does see the leak", async () => {
    const run = await runChild("*", "control");
    expect(run.code, run.output).toBe(0);
    expect(leaked(run.output, run.secrets)).toEqual(expect.arrayContaining(["clientSecret", "code", "refreshToken"]));
  });
});
