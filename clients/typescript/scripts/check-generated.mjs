// Regenerates src/gen/ from ../../proto into a temporary copy and fails when it differs from
// the committed files (someone changed a .proto without running `npm run generate`).
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const gen = join(root, "src", "gen");
const saved = mkdtempSync(join(tmpdir(), "switchboard-gen-"));

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

cpSync(gen, saved, { recursive: true, preserveTimestamps: true });
let stale = [];
try {
  execFileSync("npx", ["--no-install", "buf", "generate"], { cwd: root, stdio: "inherit" });
  const before = new Map(files(saved).map((f) => [relative(saved, f), readFileSync(f, "utf8")]));
  const after = new Map(files(gen).map((f) => [relative(gen, f), readFileSync(f, "utf8")]));
  for (const name of new Set([...before.keys(), ...after.keys()])) {
    if (before.get(name) !== after.get(name)) stale.push(name);
  }
} finally {
  // Leave the committed files as they were, whatever happened.
  rmSync(gen, { recursive: true, force: true });
  cpSync(saved, gen, { recursive: true, preserveTimestamps: true });
  rmSync(saved, { recursive: true, force: true });
}
if (stale.length > 0) {
  console.error(
    `src/gen is stale (differs from ../../proto and proto/): ${stale.join(", ")}\n` +
      "run `npm run generate` in clients/typescript and commit src/gen",
  );
  process.exit(1);
}
console.log("src/gen matches ../../proto");
