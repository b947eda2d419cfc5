import { existsSync, readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { VECTORS_DIR } from "../helpers/vectors.js";

const SHARED = path.resolve(process.cwd(), "../shared/vectors");

function files(dir: string, prefix = ""): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(path.join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`],
  );
}

describe("vendored test vectors", () => {
  if (!existsSync(SHARED)) console.warn(`[vectors] ${SHARED} not found: cannot compare the vendored copy (it is used as is).`);
  it.skipIf(!existsSync(SHARED))("are byte-identical to ../shared/vectors", () => {
    expect(files(VECTORS_DIR).sort()).toEqual(files(SHARED).sort());
    for (const name of files(SHARED)) {
      expect(readFileSync(path.join(VECTORS_DIR, name)).equals(readFileSync(path.join(SHARED, name))), name).toBe(true);
    }
  });
});
