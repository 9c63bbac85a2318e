import type { Config } from "../config.js";
import { readLocalToken } from "../server/auth.js";
import { httpGetJson } from "../security/http-get.js";
import { recordedProcess, type ProcessCheck } from "../security/recorded-process.js";
import { readRuntimeRecord, type RuntimeRecord } from "../security/runtime-file.js";
import { localTarget, type LocalTarget } from "./server-target.js";
import { askServer, proved, ServerIdentityError, verifyServer } from "../security/verify-server.js";

/**
 * Finding the server of a state directory by its port: its runtime file (<home>/servers/<port>.json)
 * says which process serves the port; the server proves over HTTP that it holds the token (or the
 * launch nonce) before the CLI sends it anything secret.
 */

export interface Health {
  status: string;
  version: string;
  active_sessions: number;
  max_sessions: number;
  uptime_seconds: number;
  pid: number;
  [k: string]: unknown;
}

export type Probe =
  /** Nothing answers on the port. */
  | { state: "not-running"; target: LocalTarget }
  /** Something answers that cannot prove it is this state directory's server (or one holding our token). */
  | { state: "foreign"; target: LocalTarget; detail: string }
  | { state: "running"; target: LocalTarget; health: Health };

/** Is our server answering on config.port? With proof, the full /health document (the token goes only to a server that proved it holds it). */
export async function probeServer(config: Config, timeoutMs = 2000): Promise<Probe> {
  const record = readRuntimeRecord(config.home, config.port);
  const target = localTarget(config, record);
  const token = config.auth ? (config.token ?? readLocalToken(config.home)) : undefined;
  let sendToken: boolean;
  try {
    sendToken = (await verifyServer(target.ws, { token, home: config.home, ca: target.ca, timeoutMs })).sendToken;
  } catch (err) {
    if (err instanceof ServerIdentityError) return { state: "foreign", target, detail: err.message };
    return { state: "not-running", target };
  }
  try {
    const res = await httpGetJson(`${target.http}/health`, { ca: target.ca, timeoutMs, headers: sendToken && token ? { authorization: `Bearer ${token}` } : {} });
    if (res.status === 200 && typeof res.body === "object" && res.body !== null) return { state: "running", target, health: res.body as Health };
    return { state: "foreign", target, detail: `/health answered HTTP ${res.status}` };
  } catch {
    return { state: "not-running", target };
  }
}

export type RecordedServer =
  | { state: "none" }
  /** The record's process is gone (or its pid now belongs to another process). */
  | { state: "stale"; record: RuntimeRecord }
  | { state: "alive"; record: RuntimeRecord; check: ProcessCheck }
  /** No start times here and the server does not answer: cannot tell whether the pid is still ours. */
  | { state: "unverified"; record: RuntimeRecord };

/**
 * The server recorded for config.port, checked against the process table: pid and kernel start
 * time must both match. Where start times cannot be read (no /proc), the server on the port must
 * prove it knows the record's nonce instead.
 */
export async function recordedServer(config: Config): Promise<RecordedServer> {
  const record = readRuntimeRecord(config.home, config.port);
  if (!record) return { state: "none" };
  const check = recordedProcess(record);
  if (check === "gone") return { state: "stale", record };
  if (check === "alive") return { state: "alive", record, check };
  const target = localTarget(config, record);
  try {
    const asked = await askServer(target.ws, { ca: target.ca, timeoutMs: 2000 });
    return proved(asked, record.nonce, "launch") ? { state: "alive", record, check } : { state: "stale", record };
  } catch {
    return { state: "unverified", record };
  }
}
