import type { Agent } from "node:http";
import { isLoopbackHost } from "./addresses.js";
import { httpBaseOf, httpGetJson } from "./http-get.js";
import { readRuntimeRecord } from "./runtime-file.js";
import { CHALLENGE_PATH, newChallenge, proofMatches, type ChallengeAnswer } from "./server-proof.js";

/** The program on the port could not prove it is the server the token belongs to; nothing secret was sent to it. */
export class ServerIdentityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ServerIdentityError";
  }
}

export interface VerifyServerOptions {
  /** The token the client would send. */
  token?: string;
  /** State directory whose runtime file for the port holds the launch nonce (checks a server with auth off). */
  home?: string;
  /** CA certificate(s) for wss/https. */
  ca?: string | Buffer;
  timeoutMs?: number;
  /** Keep-alive agent whose connection then carries the token (connection.ts): the token goes over the connection whose server proved itself. */
  agent?: Agent;
}

export interface VerifiedServer {
  /** The server wants the token (it proved it holds it). */
  sendToken: boolean;
  /** Which secret it proved: the token, or the launch nonce of the runtime file. */
  provedBy: "token" | "launch";
}

function defaultPort(url: URL): number {
  return url.port ? Number(url.port) : url.protocol === "wss:" || url.protocol === "https:" ? 443 : 80;
}

/** The server's answer to a fresh challenge, with what is needed to check it. */
export interface AskedServer {
  base: string;
  /** The port we dialled. */
  port: number;
  challenge: string;
  status: number;
  body: Partial<ChallengeAnswer> | undefined;
}

/** Sends a fresh challenge to the server at `wsUrl`; throws the network error when nothing answers. */
export async function askServer(wsUrl: string, options: { ca?: string | Buffer; timeoutMs?: number; agent?: Agent } = {}): Promise<AskedServer> {
  const url = new URL(wsUrl);
  const base = httpBaseOf(wsUrl);
  const challenge = newChallenge();
  let answer: { status: number; body: unknown };
  try {
    answer = await httpGetJson(`${base}${CHALLENGE_PATH}?challenge=${challenge}`, { ca: options.ca, timeoutMs: options.timeoutMs, agent: options.agent });
  } catch (err) {
    throw new Error(`cannot connect to ${base}: ${(err as Error).message}`);
  }
  const body = typeof answer.body === "object" && answer.body !== null ? (answer.body as Partial<ChallengeAnswer>) : undefined;
  return { base, port: defaultPort(url), challenge, status: answer.status, body };
}

/** Did the server prove it knows `secret` (the token or a launch nonce), for the port we dialled? */
export function proved(asked: AskedServer, secret: string, kind: "token" | "launch"): boolean {
  const body = asked.body;
  if (asked.status !== 200 || body?.service !== "cc-executor" || !Number.isInteger(body.port)) return false;
  // On this machine the server must be the one listening on the port we dialled: a program on
  // another port could otherwise relay our challenge to a real server. Remote servers may sit
  // behind a proxy on another port (TLS is what identifies a remote machine).
  if (isLoopbackHost(new URL(asked.base).hostname) && body.port !== asked.port) return false;
  return proofMatches(kind === "token" ? body.token_proof : body.launch_proof, secret, asked.challenge, body.port!);
}

/**
 * Asks the server at `wsUrl` to prove, without revealing anything, that it holds the token (or,
 * with auth off, the nonce of this state directory's runtime file for that port). Throws
 * ServerIdentityError otherwise, and the network error when nothing answers.
 */
export async function verifyServer(wsUrl: string, options: VerifyServerOptions): Promise<VerifiedServer> {
  const asked = await askServer(wsUrl, options);
  if (options.token && proved(asked, options.token, "token")) return { sendToken: true, provedBy: "token" };
  const record = options.home ? readRuntimeRecord(options.home, asked.port) : undefined;
  if (asked.body?.auth === false && record && proved(asked, record.nonce, "launch")) return { sendToken: false, provedBy: "launch" };
  const why =
    asked.body?.service !== "cc-executor"
      ? `${asked.base} is not a cc-executor server that can prove its identity (${CHALLENGE_PATH} answered HTTP ${asked.status})`
      : asked.body.auth === false
        ? `the server at ${asked.base} says it needs no token but is not the server recorded for port ${asked.port} in ${options.home ?? "the state directory"}`
        : `the server at ${asked.base} could not prove that it holds your token`;
  throw new ServerIdentityError(`${why}; the token was not sent. Is another program listening on port ${asked.port}, or does the server use another token? (cc-executor server status --port ${asked.port})`);
}
