// Bundles the dashboard (web/dashboard) into dist/dashboard: one minified script, one stylesheet,
// the page and its icon. No framework, no CDN: the server serves these files itself.
import { build } from "esbuild";
import { copyFileSync, mkdirSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const src = `${root}web/dashboard/`;

export async function buildDashboard({ outdir = `${root}dist/dashboard`, minify = true } = {}) {
  mkdirSync(outdir, { recursive: true });
  await build({
    entryPoints: [`${src}src/main.ts`],
    outfile: `${outdir}/app.js`,
    bundle: true,
    format: "esm",
    target: ["chrome111", "firefox113", "safari16.4"],
    minify,
    sourcemap: false,
    legalComments: "none",
    logLevel: "warning",
  });
  for (const file of ["index.html", "style.css", "favicon.svg"]) copyFileSync(`${src}${file}`, `${outdir}/${file}`);
  return outdir;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const out = await buildDashboard();
  console.log(`dashboard built into ${out}`);
}
