/**
 * Many sessions at once, against the real server process, each figure against bare spawns of the
 * same commands at the same concurrency, in the same run:
 *  1. LOAD_SESSIONS (200) WebSocket sessions at once, each running LOAD_COMMANDS (5) short shell
 *     commands one after another: latency from `execute` sent to the result (process.completed)
 *     received, p50 and p99, vs as many concurrent bare spawns, 5 in a row each, until 'close'
 *     (from a plain node process: bench/bare-spawner.mjs);
 *  2. SMALL_SESSIONS (50) sessions x 5 the same way: total time for all commands.
 * Every result is checked (each command prints a unique tag).
 * Usage: npx tsx bench/sessions-bench.ts   (or: npx tsx bench/run-all.ts sessions)
 */
import { ExecutorClient } from "../src/client/index.js";
import { spawnServerProcess } from "../test/helpers/server-process.js";
import { bareSpawner, isMain, ms, printFigures, processCpuMs, repeat, serverContainment, summarize, type Figure } from "./lib.js";

const SESSIONS = Number(process.env.LOAD_SESSIONS ?? 200);
const SMALL_SESSIONS = Number(process.env.SMALL_SESSIONS ?? 50);
const COMMANDS = Number(process.env.LOAD_COMMANDS ?? 5);

export interface SessionsResult {
  /** ms from execute sent to process.completed received, every command of every session. */
  latencies: number[];
  /** Descriptions of results that were not what the command prints (must stay empty). */
  wrong: string[];
  wallMs: number;
}

/** The short command session `s` runs as its `i`th: prints a unique tag. */
const shortCommand = (s: number, i: number) => `printf 's%d-c%d' ${s} ${i}`;

/** `sessions` clients connected at once, each running `commands` short commands one after another. */
export async function manySessions(url: string, token: string, sessions: number, commands: number): Promise<SessionsResult> {
  const clients = await Promise.all(Array.from({ length: sessions }, () => ExecutorClient.connect({ url, token })));
  const latencies: number[] = [];
  const wrong: string[] = [];
  const t0 = process.hrtime.bigint();
  try {
    await Promise.all(
      clients.map(async (client, s) => {
        for (let i = 0; i < commands; i++) {
          const start = process.hrtime.bigint();
          const r = await client.execute(shortCommand(s, i), { timeout: 60, shell: "sh" });
          latencies.push(ms(process.hrtime.bigint() - start));
          if (r.status !== "completed" || r.stdout !== `s${s}-c${i}`) wrong.push(`session ${s} command ${i}: ${r.status} ${JSON.stringify(r.stdout)}`);
        }
      }),
    );
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
  return { latencies, wrong, wallMs: ms(process.hrtime.bigint() - t0) };
}

/** Floor: the same commands spawned directly, as many at once, until 'close', from a plain node process (bench/bare-spawner.mjs). */
export async function bareSessions(sessions: number, commands: number): Promise<SessionsResult> {
  return bareSpawner<SessionsResult>(["sessions", String(sessions), String(commands)]);
}

export async function run(): Promise<Figure[]> {
  const limit = String(Math.max(SESSIONS, SMALL_SESSIONS) + 10);
  const server = await spawnServerProcess({ MAX_SESSIONS: limit, CC_EXECUTOR_MAX_PROCESSES: limit });
  try {
    await manySessions(server.url, server.token, 10, 2); // warm-up
    await bareSessions(10, 2);
    const containment = await serverContainment(server.port, server.token);
    return await repeat(
      "sessions",
      async () => {
        const self0 = processCpuMs(process.pid);
        const bare = await bareSessions(SESSIONS, COMMANDS);
        const self1 = processCpuMs(process.pid); // the spawner, reaped: its CPU and its children's
        const server0 = processCpuMs(server.pid);
        const cpu1 = process.cpuUsage();
        const ours = await manySessions(server.url, server.token, SESSIONS, COMMANDS);
        const serverMs = processCpuMs(server.pid) - server0;
        const cpu2 = process.cpuUsage();
        const cpuMs = (a: NodeJS.CpuUsage, b: NodeJS.CpuUsage) => (b.user - a.user + b.system - a.system) / 1000;
        const floorCpu = self1 - self0;
        const n = SESSIONS * COMMANDS;
        const bareSmall = await bareSessions(SMALL_SESSIONS, COMMANDS);
        const oursSmall = await manySessions(server.url, server.token, SMALL_SESSIONS, COMMANDS);
        const wrong = [ours, bare, oursSmall, bareSmall].flatMap((r) => r.wrong);
        if (wrong.length > 0) throw new Error(`wrong results: ${wrong.slice(0, 5).join("; ")}`);
        const [o, b] = [summarize(ours.latencies), summarize(bare.latencies)];
        return [
          { metric: `${SESSIONS} sessions x ${COMMANDS} short commands, latency p50`, unit: "ms", ours: o.p50, floor: b.p50, note: `execute sent -> result received; floor: as many bare spawns at once until 'close', from a plain node process; server containment: ${containment}` },
          { metric: `${SESSIONS} sessions x ${COMMANDS}, latency p99`, unit: "ms", ours: o.p99, floor: b.p99 },
          { metric: `${SESSIONS} sessions x ${COMMANDS}, total time`, unit: "ms", ours: ours.wallMs, floor: bare.wallMs },
          { metric: `${SMALL_SESSIONS} sessions x ${COMMANDS}, total time`, unit: "ms", ours: oursSmall.wallMs, floor: bareSmall.wallMs },
          // CPU time changes least with the machine's other load: where the latency goes when cores are shared.
          { metric: `  server CPU per command (${SESSIONS} x ${COMMANDS}), vs the bare spawner's`, unit: "ms", ours: serverMs / n, floor: floorCpu / n, note: "both with their reaped children (the commands)" },
          { metric: `  client CPU per command (${SESSIONS} x ${COMMANDS}), vs the bare spawner's`, unit: "ms", ours: cpuMs(cpu1, cpu2) / n, floor: floorCpu / n },
        ];
      },
      { pids: () => [server.pid] },
    );
  } finally {
    await server.stop();
  }
}

if (isMain(import.meta.url)) printFigures(await run());
