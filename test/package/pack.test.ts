/**
 * Ships what we test. Copies the working tree to a scratch folder and runs `npm pack` there, so
 * `prepack` builds dist/ from the current lib/ (never a stale dist/, never the shared one); then
 * checks the tarball's contents (LICENSE, links in the shipped Markdown, source maps, a build
 * of every source), installs it into a fresh project together with only what a real consumer
 * installs (express, @types/express, typescript), loads it with `import` and `require()`, and
 * type-checks a strict consumer of both entry points under `"module": "nodenext"` (ESM and CJS)
 * and `"module": "commonjs"` (node10 resolution), with `skipLibCheck: false`.
 */
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = process.cwd();
const manifest = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as {
  license: string;
  main: string;
  module: string;
  types: string;
  exports: Record<string, unknown>;
  typesVersions?: Record<string, Record<string, string[]>>;
  devDependencies: Record<string, string>;
};
/** Top-level entries of the working tree that `npm pack` must not see: build output, installs, VCS, reports. */
const NOT_COPIED = new Set(["node_modules", "dist", ".git", "coverage", "test-results", "reports", ".stryker-tmp", ".tmp"]);

let work: string;
let tarball: string;
/** The unpacked tarball (`<work>/package`). */
let unpacked: string;
/** Shipped files, relative to the package root, POSIX separators. */
let shipped: Set<string>;
/** The consumer project the tarball is installed into. */
let consumerDir: string;

function run(cmd: string, args: string[], cwd: string): string {
  return execFileSync(cmd, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 240_000 });
}

/** Runs a command that should print nothing and succeed; resolves to its output (with stderr) otherwise. */
function problemsOf(cmd: string, args: string[], cwd: string): string {
  try {
    return run(cmd, args, cwd);
  } catch (err) {
    const { stdout, stderr } = err as { stdout?: string; stderr?: string };
    return `${stdout ?? ""}${stderr ?? ""}` || String(err);
  }
}

function listFiles(dir: string, prefix = ""): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? listFiles(path.join(dir, entry.name), `${prefix}${entry.name}/`) : [`${prefix}${entry.name}`],
  );
}

/** True when `target` (package-relative) is a shipped file or a folder holding shipped files. */
function isShipped(target: string): boolean {
  const clean = target.replace(/\/+$/, "");
  return shipped.has(clean) || [...shipped].some((f) => f.startsWith(`${clean}/`));
}

/** Resolves `target` against the shipped file `from`; undefined when it leaves the package. */
function resolveFrom(from: string, target: string): string | undefined {
  const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(from), target));
  return resolved.startsWith("../") || resolved === ".." ? undefined : resolved;
}

/** Relative link targets of a Markdown document (code blocks and code spans left out), without #fragment or ?query. */
function relativeLinks(markdown: string): string[] {
  const text = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, "").replace(/`[^`\n]*`/g, "");
  const targets = [
    ...[...text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]),
    ...[...text.matchAll(/^\s{0,3}\[[^\]]+\]:\s*<?([^\s>]+)>?/gm)].map((m) => m[1]),
    ...[...text.matchAll(/\b(?:href|src)="([^"]+)"/g)].map((m) => m[1]),
  ].filter((t): t is string => t !== undefined);
  return targets
    .filter((t) => !/^[a-z][a-z0-9+.-]*:/i.test(t) && !t.startsWith("#") && !t.startsWith("/"))
    .map((t) => decodeURIComponent(t.replace(/[#?].*$/, "")))
    .filter((t) => t !== "");
}

/** Every path package.json points at: main, module, types, exports, typesVersions. */
function manifestTargets(): string[] {
  const out = [manifest.main, manifest.module, manifest.types];
  const walk = (value: unknown): void => {
    if (typeof value === "string") out.push(value);
    else if (typeof value === "object" && value !== null) for (const v of Object.values(value)) walk(v);
  };
  walk(manifest.exports);
  walk(manifest.typesVersions);
  return out.map((p) => path.posix.normalize(p));
}

describe("npm package", () => {
  beforeAll(() => {
    work = mkdtempSync(path.join(tmpdir(), "flet-auth-pack-"));
    const source = path.join(work, "source");
    cpSync(root, source, {
      recursive: true,
      filter: (src) => {
        const rel = path.relative(root, src);
        const top = rel.split(path.sep)[0] ?? "";
        return !NOT_COPIED.has(top) && !(rel === top && top.endsWith(".tgz"));
      },
    });
    symlinkSync(path.join(root, "node_modules"), path.join(source, "node_modules"), "dir");
    // Scripts on: `prepack` builds dist/ from this copy of lib/.
    run("npm", ["pack", "--pack-destination", work], source);
    const file = readdirSync(work).find((f) => f.endsWith(".tgz"));
    if (!file) throw new Error("npm pack produced no tarball");
    tarball = path.join(work, file);
    run("tar", ["-xzf", tarball, "-C", work], work);
    unpacked = path.join(work, "package");
    shipped = new Set(listFiles(unpacked));

    // A fresh consumer with only what a TypeScript app on Express installs (same ranges as this
    // repo, so npm's cache answers; the registry otherwise). No @types borrowed from this repo.
    consumerDir = path.join(work, "consumer");
    mkdirSync(consumerDir);
    writeFileSync(path.join(consumerDir, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }, null, 2));
    const dev = manifest.devDependencies;
    run(
      "npm",
      [
        "install", "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts",
        tarball, `express@${dev["express"]}`, `@types/express@${dev["@types/express"]}`, `typescript@${dev["typescript"]}`,
      ],
      consumerDir,
    );
  }, 600_000);
  afterAll(() => {
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });

  describe("contents", () => {
    it("has dist for both module systems and no sources or tests", () => {
      for (const f of ["dist/esm/index.js", "dist/esm/index.d.ts", "dist/cjs/index.js", "dist/cjs/index.d.ts", "dist/cjs/security.js", "dist/cjs/package.json"]) {
        expect(shipped).toContain(f);
      }
      expect([...shipped].filter((f) => /^(lib|test|bench|scripts)\//.test(f))).toEqual([]);
      expect([...shipped].filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts") && !f.startsWith("examples/"))).toEqual([]);
    });

    it("was built from the current lib/: one .js and .d.ts per source, per module system, nothing else", () => {
      const sources = listFiles(path.join(work, "source", "lib"))
        .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))
        .map((f) => f.replace(/\.ts$/, ""))
        .sort();
      for (const system of ["esm", "cjs"]) {
        const built = (ext: string) =>
          [...shipped]
            .filter((f) => f.startsWith(`dist/${system}/`) && f.endsWith(ext) && (ext !== ".js" || !f.endsWith(".d.js")))
            .map((f) => f.slice(`dist/${system}/`.length, -ext.length))
            .sort();
        expect(built(".js"), `dist/${system} .js`).toEqual(sources);
        expect(built(".d.ts"), `dist/${system} .d.ts`).toEqual(sources);
      }
    });

    it("ships every file package.json points at (main, module, types, exports, typesVersions)", () => {
      expect(manifestTargets().filter((p) => !shipped.has(p))).toEqual([]);
    });

    it("ships the Apache-2.0 LICENSE that package.json names", () => {
      expect(manifest.license).toBe("Apache-2.0");
      expect(shipped).toContain("LICENSE");
      const text = readFileSync(path.join(unpacked, "LICENSE"), "utf8");
      expect(text).toMatch(/^\s*Apache License\s+Version 2\.0, January 2004\s+http:\/\/www\.apache\.org\/licenses\//);
      expect(text).toContain("TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION");
      expect(text).toContain("END OF TERMS AND CONDITIONS");
      expect(text).toBe(readFileSync(path.join(root, "LICENSE"), "utf8"));
    });

    it("every relative link in the shipped Markdown resolves to a shipped file", () => {
      const docs = [...shipped].filter((f) => f.endsWith(".md"));
      expect(docs).toContain("README.md");
      expect(docs.some((f) => f.startsWith("docs/"))).toBe(true);
      const broken: string[] = [];
      let checked = 0;
      for (const doc of docs) {
        for (const link of relativeLinks(readFileSync(path.join(unpacked, doc), "utf8"))) {
          checked += 1;
          const target = resolveFrom(doc, link);
          if (target === undefined || !isShipped(target)) broken.push(`${doc} → ${link}`);
        }
      }
      expect(broken).toEqual([]);
      expect(checked).toBeGreaterThan(20); // the scan found the docs' links at all
    });

    it("no source map points at a source that is neither shipped nor inlined, and every sourceMappingURL resolves", () => {
      const problems: string[] = [];
      for (const map of [...shipped].filter((f) => f.endsWith(".map"))) {
        const json = JSON.parse(readFileSync(path.join(unpacked, map), "utf8")) as { sources?: string[]; sourcesContent?: (string | null)[]; sourceRoot?: string };
        (json.sources ?? []).forEach((source, i) => {
          const target = resolveFrom(map, path.posix.join(json.sourceRoot ?? "", source));
          const inlined = typeof json.sourcesContent?.[i] === "string";
          if (!inlined && (target === undefined || !shipped.has(target))) problems.push(`${map} → ${source}`);
        });
      }
      for (const file of [...shipped].filter((f) => f.endsWith(".js") || f.endsWith(".d.ts"))) {
        const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(readFileSync(path.join(unpacked, file), "utf8"))?.[1];
        if (url === undefined || url.startsWith("data:")) continue;
        const target = resolveFrom(file, decodeURIComponent(url));
        if (target === undefined || !shipped.has(target)) problems.push(`${file} → ${url}`);
      }
      expect(problems).toEqual([]);
    });
  });

  describe("a consumer", () => {
    const runtime = (loader: "import" | "require"): string => {
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

    const expected = {
      status: 302,
      s256: true,
      emitter: true,
      token: '{"access_token":"a","token_type":"Bearer"}',
      secret: "hello",
      error: 400,
    };

    it("loads it with import", () => {
      writeFileSync(path.join(consumerDir, "main.mjs"), runtime("import"));
      expect(JSON.parse(run(process.execPath, ["main.mjs"], consumerDir))).toEqual(expected);
    }, 60_000);

    it("loads it with require()", () => {
      writeFileSync(path.join(consumerDir, "main.cjs"), runtime("require"));
      expect(JSON.parse(run(process.execPath, ["main.cjs"], consumerDir))).toEqual(expected);
    }, 60_000);

    /** A strict app using both entry points, the Request augmentation and express-session's types. */
    const app = `import express from "express";
import { fletAuth, GitHubOAuthProvider, FletAuthError, type FletAuthOptions, type LoginEvent } from "flet-auth";
import { encrypt, decrypt, isFletAuthError } from "flet-auth/security";

const github = new GitHubOAuthProvider({ clientId: "a", clientSecret: "b", redirectUrl: "http://localhost:8550/oauth_callback" });
const options: FletAuthOptions = { providers: { github }, secret: "x".repeat(32), session: { name: "sid", cookie: { sameSite: "lax" } } };
const auth = fletAuth(options);
const app = express();
app.use(auth);
auth.on("login", (e: LoginEvent) => {
  if (!e.error) console.log(e.auth?.user?.id);
});
app.get("/", async (req, res) => {
  const token = req.auth ? await req.auth.getToken() : undefined;
  const saved: string | undefined = token ? await encrypt(token.toJson(), "k") : undefined;
  const back: string | undefined = saved === undefined ? undefined : await decrypt(saved, "k");
  res.json({ user: req.auth?.user?.id ?? null, same: back === token?.toJson(), session: req.session.id });
});
const err: unknown = new FletAuthError("invalid_state", "x");
if (isFletAuthError(err, "invalid_state")) console.log(err.status);
export { app };
`;

    const strict = { strict: true, skipLibCheck: false, noEmit: true, target: "ES2022", esModuleInterop: true };
    it.each([
      { name: '"module": "nodenext", ESM (import conditions)', file: "app-esm.mts", options: { module: "nodenext" } },
      { name: '"module": "nodenext", CommonJS (require conditions)', file: "app-cjs.cts", options: { module: "nodenext" } },
      { name: '"module": "commonjs", default (node10) resolution', file: "app-node10.ts", options: { module: "commonjs" } },
    ])("type-checks $name with strict and skipLibCheck false", ({ file, options }) => {
      writeFileSync(path.join(consumerDir, file), app);
      const config = `tsconfig.${file}.json`;
      writeFileSync(path.join(consumerDir, config), JSON.stringify({ compilerOptions: { ...strict, ...options }, files: [file] }, null, 2));
      const tsc = path.join(consumerDir, "node_modules", "typescript", "bin", "tsc");
      // The consumer's own compiler, and only the types its own installs brought.
      expect(problemsOf(process.execPath, [tsc, "-p", config], consumerDir)).toBe("");
      // The resolution under test really happened (not some fallback): which declarations were read.
      const listed = run(process.execPath, [tsc, "-p", config, "--listFilesOnly"], consumerDir);
      const system = file.endsWith(".cts") ? "cjs" : file.endsWith(".mts") ? "esm" : undefined;
      if (system !== undefined) {
        expect(listed).toContain(`node_modules/flet-auth/dist/${system}/index.d.ts`);
        expect(listed).toContain(`node_modules/flet-auth/dist/${system}/security.d.ts`);
      } else {
        expect(listed).toContain(`node_modules/flet-auth/${manifest.types.replace(/^\.\//, "")}`);
        expect(listed).toContain("node_modules/flet-auth/dist/cjs/security.d.ts");
      }
      expect(listed).toContain("node_modules/@types/express-session/index.d.ts");
    }, 120_000);
  });
});
