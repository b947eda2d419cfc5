/**
 * The shared test vectors (flet-security, oauth-token, oauth-requests, the Fernet spec), vendored
 * verbatim under test/vectors/ so a clean clone tests on its own; test/unit/vectors.test.ts
 * checks the copy is byte-identical to ../shared/vectors whenever that folder is present.
 */
import { readFileSync } from "node:fs";
import path from "node:path";

export const VECTORS_DIR = path.resolve(process.cwd(), "test/vectors");

/** Parsed JSON of a vector file, e.g. `readVector("oauth-token.json")`, `readVector("fernet-spec/generate.json")`. */
export function readVector<T = unknown>(name: string): T {
  return JSON.parse(readFileSync(path.join(VECTORS_DIR, name), "utf8")) as T;
}

export function vectorPath(name: string): string {
  return path.join(VECTORS_DIR, name);
}
