// Bundles the CLI (src/cli/main.ts and everything it loads, at start or on demand) into dist/cli:
// main.js plus chunks that each command loads when it runs. Starting a Node program costs a file
// look-up, read and compile per ES module; the CLI would otherwise load hundreds of them (zod alone
// is ~100 files) before printing a line. The library (dist/index.js and the rest of dist) stays
// tsc's output. Small pure-JS packages are bundled; packages with native code, worker files or
// their own lazy loading stay in node_modules, and so do those our code loads only when needed
// (lazyRequire: the SQLite binding, ioredis, yaml, pino-pretty, dotenv). Every chunk lands in dist/cli, one level below the
// package's dist/ as the bundled modules were: what they find from import.meta.url (../dashboard)
// is still there; src/package-root.ts finds the package's own files (templates/) from anywhere.
import { build } from "esbuild";
import { chmodSync, readdirSync, rmSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

/** Packages compiled into the bundle; every other one is imported from node_modules at run time. */
const BUNDLED = new Set(["commander", "zod", "ws"]);

const packageName = (specifier) => specifier.split("/").slice(0, specifier.startsWith("@") ? 2 : 1).join("/");

/**
 * ws tries these optional native speed-ups with require() in a try block. Neither is a dependency
 * of ours; looking for them anyway (node's module resolution through every node_modules up to /,
 * failing) cost each command that loads ws a few ms. In the bundle they are absent: ws uses its
 * JavaScript code, as it does wherever they are not installed.
 */
const absentOptional = {
  name: "absent-optional",
  setup(b) {
    b.onResolve({ filter: /^(bufferutil|utf-8-validate)$/ }, (args) => ({ path: args.path, namespace: "absent-optional" }));
    b.onLoad({ filter: /.*/, namespace: "absent-optional" }, (args) => ({ contents: `throw new Error(${JSON.stringify(`${args.path} is not part of the cc-executor bundle`)});`, loader: "js" }));
  },
};

/** Bare imports of packages not in BUNDLED stay imports (resolved by node at run time). */
const externalPackages = {
  name: "external-packages",
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith("node:")) return { path: args.path, external: true };
      return BUNDLED.has(packageName(args.path)) ? undefined : { path: args.path, external: true };
    });
  },
};

export async function buildCli({ outdir = `${root}dist/cli` } = {}) {
  // an earlier build's chunks (their names carry a hash)
  rmSync(outdir, { recursive: true, force: true });
  await build({
    entryPoints: [`${root}src/cli/main.ts`],
    outdir,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    entryNames: "[name]",
    plugins: [absentOptional, externalPackages],
    // CommonJS packages in an ES module bundle call require() for node's own modules
    banner: { js: 'import { createRequire as __ccCreateRequire } from "node:module"; const require = __ccCreateRequire(import.meta.url);' },
    sourcemap: true,
    logLevel: "warning",
  });
  chmodSync(`${outdir}/main.js`, 0o755);
  return readdirSync(outdir).filter((f) => f.endsWith(".js")).length;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(`CLI bundled into dist/cli (${await buildCli()} files)`);
}
