// Make the CLI entry executable after tsc (npm link / npm install -g use it directly),
// then bundle the dashboard into dist/dashboard.
import { chmodSync, existsSync } from "node:fs";
import { buildDashboard } from "./build-dashboard.js";
const entry = new URL("../dist/cli/main.js", import.meta.url);
if (existsSync(entry)) chmodSync(entry, 0o755);
await buildDashboard();
