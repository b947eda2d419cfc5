/**
 * Ships what we test: packs the package with `npm pack`, installs the tarball into a fresh ESM
 * project and a fresh CommonJS project, and loads it with `import` and `require()` — main entry
 * and the `flet-auth/security` subpath — then type-checks a consumer against the shipped
 * declarations.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = process.cwd();
let work: string;
let tarball: string;

function run(cmd: string, args: string[], cwd: string): string {
  return execFileSync(cmd, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 180_000 });
}

function project(name: string, type: "module" | "commonjs"): string {
  const dir = path.join(work, name);
  mkdirSync(dir);
  writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name, private: true, type }, null, 2));
  // --prefer-offline: every dependency is already in npm's cache after `npm ci`.
  run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts", tarball], dir);
  return dir;
}

const consumer = (loader: "import" | "require") => {
  const load =
    loader === "import"
      ? `import { fletAuth, OAuthProvider, OAuthToken, FletAuthError } from "flet-auth";\nimport { encrypt, decrypt } from "flet-auth/security";\nimport express from "express";`
      : `const { fletAuth, OAuthProvider, OAuthToken, FletAuthError } = require("flet-auth");\nconst { encrypt, decrypt } = require("flet-auth/security");\nconst express = require("express");`;
  return `${load}
const provider = new OAuthProvider({
  clientId: "id", clientSecret: "secret",
  authorizationEndpoint: "https://idp.example.com/authorize", tokenEndpoint: "https://idp.example.com/token",
  redirectUrl: "http://localhost:8550/oauth_callback",
});
const auth = fletAuth({ providers: { idp: provider }, secret: "x".repeat(32) });
const app = express();
app.use(auth);
const server = app.listen(0, "127.0.0.1", async () => {
  const { port } = server.address();
  const res = await fetch("http://127.0.0.1:" + port + "/login/idp", { redirect: "manual" });
  const location = res.headers.get("location") || "";
  const token = OAuthToken.fromJson('{"access_token":"a","token_type":"Bearer"}');
  const secret = await decrypt(await encrypt("hello", "k"), "k");
  console.log(JSON.stringify({
    status: res.status,
    s256: location.includes("code_challenge_method=S256"),
    emitter: typeof auth.on === "function",
    token: token.toJson(),
    secret,
    error: new FletAuthError("invalid_state", "x").status,
  }));
  server.close();
});
`;
};

describe("npm package", () => {
  beforeAll(() => {
    work = mkdtempSync(path.join(tmpdir(), "flet-auth-pack-"));
    // `npm test` built dist already; --ignore-scripts skips the prepack rebuild.
    run("npm", ["pack", "--ignore-scripts", "--pack-destination", work], root);
    const file = readdirSync(work).find((f) => f.endsWith(".tgz"));
    if (!file) throw new Error("npm pack produced no tarball");
    tarball = path.join(work, file);
  }, 240_000);
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it("contains dist for both module systems and no sources or tests", () => {
    const files = run("tar", ["-tzf", tarball], work).split("\n");
    expect(files).toContain("package/dist/esm/index.js");
    expect(files).toContain("package/dist/esm/index.d.ts");
    expect(files).toContain("package/dist/cjs/index.js");
    expect(files).toContain("package/dist/cjs/security.js");
    expect(files).toContain("package/dist/cjs/package.json");
    expect(files.some((f) => f.startsWith("package/test/") || f.startsWith("package/lib/"))).toBe(false);
  });

  const expected = {
    status: 302,
    s256: true,
    emitter: true,
    token: '{"access_token":"a","token_type":"Bearer"}',
    secret: "hello",
    error: 400,
  };

  it("loads with import from a fresh ESM project", () => {
    const dir = project("esm-consumer", "module");
    writeFileSync(path.join(dir, "main.mjs"), consumer("import"));
    expect(JSON.parse(run(process.execPath, ["main.mjs"], dir))).toEqual(expected);
  }, 240_000);

  it("loads with require() from a fresh CommonJS project", () => {
    const dir = project("cjs-consumer", "commonjs");
    writeFileSync(path.join(dir, "main.cjs"), consumer("require"));
    expect(JSON.parse(run(process.execPath, ["main.cjs"], dir))).toEqual(expected);
  }, 240_000);

  it("type-checks a TypeScript consumer against the shipped declarations", () => {
    const dir = path.join(work, "esm-consumer");
    writeFileSync(
      path.join(dir, "app.ts"),
      `import express from "express";
import { fletAuth, GitHubOAuthProvider, type LoginEvent } from "flet-auth";
import { encrypt } from "flet-auth/security";
const github = new GitHubOAuthProvider({ clientId: "a", clientSecret: "b", redirectUrl: "http://localhost:8550/oauth_callback" });
const auth = fletAuth({ providers: { github }, secret: "x".repeat(32) });
const app = express();
app.use(auth);
auth.on("login", (e: LoginEvent) => { if (!e.error) console.log(e.auth?.user?.id); });
app.get("/", async (req, res) => {
  const token = req.auth ? await req.auth.getToken() : undefined;
  const saved: string | undefined = token ? await encrypt(token.toJson(), "k") : undefined;
  res.json({ user: req.auth?.user?.id ?? null, saved: saved !== undefined });
});
`,
    );
    writeFileSync(
      path.join(dir, "tsconfig.json"),
      JSON.stringify({ compilerOptions: { strict: true, module: "NodeNext", moduleResolution: "NodeNext", target: "ES2022", noEmit: true, skipLibCheck: false, types: ["node"] }, files: ["app.ts"] }),
    );
    // The consumer borrows this repo's compiler and @types (not part of the package under test).
    mkdirSync(path.join(dir, "node_modules", "@types"), { recursive: true });
    for (const t of readdirSync(path.join(root, "node_modules", "@types"))) {
      execFileSync("cp", ["-r", path.join(root, "node_modules", "@types", t), path.join(dir, "node_modules", "@types", t)]);
    }
    execFileSync("cp", ["-r", path.join(root, "node_modules", "undici-types"), path.join(dir, "node_modules", "undici-types")]);
    const tsc = path.join(root, "node_modules", "typescript", "bin", "tsc");
    let output = "";
    try {
      run(process.execPath, [tsc, "-p", "tsconfig.json"], dir);
    } catch (err) {
      output = String((err as { stdout?: string }).stdout ?? err);
    }
    expect(output).toBe("");
  }, 120_000);
});
