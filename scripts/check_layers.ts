// deno-lint-ignore-file no-console
/**
 * Checks the dependency rules of STYLE.md §2.1 on the module graph of `main.ts`
 * (`deno info --json`), and that no source file uses a dynamic `import()`.
 *
 *   deno run -A scripts/check_layers.ts
 *
 * Exits 1 listing every violation.
 *
 * @module
 */

interface Dependency {
  specifier: string;
  code?: { specifier?: string };
  type?: { specifier?: string };
}
interface Module {
  specifier: string;
  dependencies?: Dependency[];
}

const root = new URL("../", import.meta.url);
const rootPath = root.pathname;
const output = await new Deno.Command(Deno.execPath(), {
  args: ["info", "--json", "main.ts"],
  cwd: rootPath,
  stdout: "piped",
  stderr: "inherit",
}).output();
if (!output.success) Deno.exit(1);
const graph = JSON.parse(new TextDecoder().decode(output.stdout)) as { modules: Module[] };

function local(specifier: string): string {
  return specifier.startsWith(root.href) ? specifier.slice(root.href.length) : specifier;
}

const edges = new Map<string, string[]>();
for (const module of graph.modules) {
  const from = local(module.specifier);
  const targets = (module.dependencies ?? []).map((d) =>
    local(d.code?.specifier ?? d.type?.specifier ?? d.specifier)
  );
  edges.set(from, targets);
}

const problems: string[] = [];
const CONCRETE = [
  "src/repository/maildir.ts",
  "src/repository/maildir_folder.ts",
  "src/repository/maildir_write.ts",
  "src/repository/imap.ts",
  "src/repository/imap_folder.ts",
  "src/repository/imap_local.ts",
  "src/repository/open.ts",
  "src/status/sqlite.ts",
  "src/status/plain.ts",
  "src/status/open.ts",
];
const PURE = new Set(["src/sync/plan.ts", "src/sync/flags.ts"]);
const PURE_ALLOWED = new Set([
  "src/sync/types.ts",
  "src/sync/flags.ts",
  "src/repository/folder.ts",
]);

for (const [from, targets] of edges) {
  for (const to of targets) {
    if (from.startsWith("imap/") && (to.startsWith("src/") || to === "main.ts")) {
      problems.push(`${from} imports ${to}: imap/ must not depend on src/ (rule 1)`);
    }
    if ((to === "node:net" || to === "node:tls") && from !== "imap/transport.ts") {
      problems.push(`${from} imports ${to}: only imap/transport.ts may (rule 2)`);
    }
    if (PURE.has(from) && !PURE_ALLOWED.has(to)) {
      problems.push(`${from} imports ${to}: the planner is pure (rule 3)`);
    }
    if (from.startsWith("src/sync/")) {
      if (
        to.startsWith("imap/") || to === "node:sqlite" || CONCRETE.includes(to) ||
        to === "src/status/sqlite.ts"
      ) {
        problems.push(`${from} imports ${to}: the engine sees only interfaces (rule 4)`);
      }
    }
  }
}

// Rule 3, text part: the pure modules touch neither Deno nor node.
for (const file of PURE) {
  const code = (await Deno.readTextFile(new URL(file, root))).replace(
    /^\s*(\/\/|\*|\/\*\*).*$/gm,
    "",
  );
  if (/\bDeno\.|["']node:/.test(code)) problems.push(`${file} uses Deno or node APIs (rule 3)`);
}

// Rule 5: no cycles, no dynamic import.
const state = new Map<string, "visiting" | "done">();
function visit(node: string, path: string[]): void {
  if (state.get(node) === "done") return;
  if (state.get(node) === "visiting") {
    problems.push(`import cycle: ${[...path.slice(path.indexOf(node)), node].join(" -> ")}`);
    return;
  }
  state.set(node, "visiting");
  for (const to of edges.get(node) ?? []) if (edges.has(to)) visit(to, [...path, node]);
  state.set(node, "done");
}
for (const node of edges.keys()) visit(node, []);

for (const module of graph.modules) {
  const file = local(module.specifier);
  if (!file.endsWith(".ts") || file.includes("://")) continue;
  const text = await Deno.readTextFile(new URL(file, root));
  if (/\bimport\s*\(/.test(text.replace(/^\s*(\/\/|\*).*$/gm, ""))) {
    problems.push(`${file} uses a dynamic import() (rule 5: breaks deno compile)`);
  }
}

if (problems.length > 0) {
  for (const p of problems) console.error(p);
  Deno.exit(1);
}

console.log(`check_layers: ${edges.size} modules, rules hold`);
