// Builds dist/esm (import) and dist/cjs (require) from lib/ with tsc, then marks
// dist/cjs as CommonJS so Node loads it with require() despite "type": "module".
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";

const tsc = ["node_modules/typescript/bin/tsc"];
rmSync("dist", { recursive: true, force: true });
execFileSync(process.execPath, [...tsc, "-p", "tsconfig.build.json"], { stdio: "inherit" });
execFileSync(process.execPath, [...tsc, "-p", "tsconfig.cjs.json"], { stdio: "inherit" });
mkdirSync("dist/cjs", { recursive: true });
writeFileSync("dist/cjs/package.json", JSON.stringify({ type: "commonjs" }) + "\n");
writeFileSync("dist/esm/package.json", JSON.stringify({ type: "module" }) + "\n");
