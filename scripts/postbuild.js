// After tsc (the library in dist/): bundle the CLI into dist/cli (its bin entry is made executable
// there, for npm link / npm install -g), then the dashboard into dist/dashboard.
import { buildCli } from "./build-cli.js";
import { buildDashboard } from "./build-dashboard.js";
await buildCli();
await buildDashboard();
