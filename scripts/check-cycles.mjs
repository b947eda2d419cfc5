#!/usr/bin/env node
// Fails when lib/ has an import cycle (type-only imports included: a cycle of types is still a
// design knot). Follows relative imports only; prints each cycle as a path of files.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const lib = resolve(process.argv[2] ?? join(root, "lib"));

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith(".ts") ? [path] : [];
  });
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\b[^"';]*?from\s*["']([^"']+)["']|(?:^|\n)\s*import\s*["']([^"']+)["']/g;
const graph = new Map();
for (const file of files(lib)) {
  const deps = [];
  for (const m of readFileSync(file, "utf8").matchAll(IMPORT)) {
    const spec = m[1] ?? m[2];
    if (!spec || !spec.startsWith(".")) continue;
    deps.push(resolve(dirname(file), spec.replace(/\.js$/, ".ts")));
  }
  graph.set(file, deps);
}

const cycles = [];
const state = new Map(); // 1 = on the stack, 2 = done
const stack = [];
function visit(file) {
  state.set(file, 1);
  stack.push(file);
  for (const dep of graph.get(file) ?? []) {
    if (!graph.has(dep)) continue;
    if (state.get(dep) === 1) cycles.push([...stack.slice(stack.indexOf(dep)), dep]);
    else if (state.get(dep) !== 2) visit(dep);
  }
  stack.pop();
  state.set(file, 2);
}
for (const file of graph.keys()) if (!state.has(file)) visit(file);

if (cycles.length > 0) {
  for (const cycle of cycles) console.error(`import cycle: ${cycle.map((f) => relative(root, f)).join(" → ")}`);
  process.exit(1);
}
console.log(`${relative(root, lib) || "."}: ${graph.size} modules, no import cycles`);
