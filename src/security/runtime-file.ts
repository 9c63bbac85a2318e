import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { entryNames } from "../dir-entries.js";

/**
 * One file per running server, named by its port, in <home>/servers/ (mode 0600): which process
 * serves that port (pid and kernel start time, so a recycled pid is never mistaken for it) and a
 * per-launch nonce the server can prove it knows. `server stop` and `server status` address a
 * server by its port through this file; clients use the nonce to check the server they talk to.
 */
export interface RuntimeRecord {
  pid: number;
  port: number;
  host: string;
  /** Kernel start time of the server process (clock ticks since boot, /proc/<pid>/stat); null where unknown. */
  process_start: number | null;
  /** Random per launch; never leaves this file and the server's memory. */
  nonce: string;
  started_at: string;
  version: string;
  auth: boolean;
  tls: boolean;
  /** ws:// or wss:// URL of the WebSocket endpoint. */
  url: string;
  /** The TLS certificate file the server uses (clients on this machine may trust it). */
  tls_cert?: string;
}

export function runtimeDir(home: string): string {
  return join(home, "servers");
}

export function runtimeFile(home: string, port: number): string {
  return join(runtimeDir(home), `${port}.json`);
}

export function newNonce(): string {
  return randomBytes(32).toString("base64url");
}

/** Writes the record atomically (temp file, then rename), mode 0600 in a 0700 folder. */
export function writeRuntimeRecord(home: string, record: RuntimeRecord): string {
  const dir = runtimeDir(home);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const file = runtimeFile(home, record.port);
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
  renameSync(temp, file);
  return file;
}

function isRecord(value: unknown): value is RuntimeRecord {
  const r = value as RuntimeRecord;
  return (
    typeof r === "object" &&
    r !== null &&
    Number.isInteger(r.pid) &&
    r.pid > 1 &&
    Number.isInteger(r.port) &&
    typeof r.nonce === "string" &&
    r.nonce.length >= 32 &&
    (r.process_start === null || typeof r.process_start === "number") &&
    typeof r.url === "string"
  );
}

/** The record for `port`, or undefined when there is none or it is unreadable or malformed. */
export function readRuntimeRecord(home: string, port: number): RuntimeRecord | undefined {
  try {
    const value = JSON.parse(readFileSync(runtimeFile(home, port), "utf8")) as unknown;
    return isRecord(value) && value.port === port ? value : undefined;
  } catch {
    return undefined;
  }
}

export function listRuntimeRecords(home: string): RuntimeRecord[] {
  return entryNames(runtimeDir(home))
    .map((n) => /^(\d+)\.json$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => readRuntimeRecord(home, Number(m[1])))
    .filter((r): r is RuntimeRecord => r !== undefined);
}

/** Removes the record of `port` only if it is still the one of this launch (same nonce). */
export function removeRuntimeRecord(home: string, port: number, nonce: string): void {
  if (readRuntimeRecord(home, port)?.nonce !== nonce) return;
  try {
    unlinkSync(runtimeFile(home, port));
  } catch {
    // already gone
  }
}

/** Removes a record whatever launch wrote it (a stale one, whose process is gone). */
export function removeStaleRecord(home: string, port: number): void {
  try {
    unlinkSync(runtimeFile(home, port));
  } catch {
    // already gone
  }
}

/**
 * The URL (and certificate) of the server this state directory runs on `port`, when it serves
 * TLS: a client on this machine then dials wss:// and trusts the server's own certificate.
 */
export function recordedTlsServer(home: string, port: number): { url: string; ca: Buffer | undefined } | undefined {
  const record = readRuntimeRecord(home, port);
  if (!record?.tls) return undefined;
  const host = record.host === "0.0.0.0" ? "127.0.0.1" : record.host === "::" ? "::1" : record.host;
  let ca: Buffer | undefined;
  try {
    ca = record.tls_cert ? readFileSync(record.tls_cert) : undefined;
  } catch {
    ca = undefined;
  }
  return { url: `wss://${host.includes(":") ? `[${host}]` : host}:${port}/ws/mcp`, ca };
}
