import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * Challenge-response that lets a client check a server before giving it the token: the client
 * sends a fresh random challenge, the server answers HMAC-SHA256(secret, label, challenge, its own
 * listening port). Only a holder of the secret can answer, the answer reveals nothing about the
 * secret, and the port in it stops a program on another port from relaying the question to the
 * real server. The secret is the token (any client holding it can check), or the per-launch nonce
 * of the runtime file (a local client of the same user can check even with auth off).
 */

const LABEL = "cc-executor server proof v1";

export function newChallenge(): string {
  return randomBytes(32).toString("base64url");
}

/** 32 random bytes in base64url, nothing else: no room to smuggle a port or a label into the signed text. */
export function isChallenge(value: unknown): value is string {
  return typeof value === "string" && /^[A-Za-z0-9_-]{43}$/.test(value);
}

export function proofOf(secret: string, challenge: string, port: number): string {
  return createHmac("sha256", secret).update(`${LABEL}\n${challenge}\n${port}`).digest("base64url");
}

export function proofMatches(given: unknown, secret: string, challenge: string, port: number): boolean {
  if (typeof given !== "string") return false;
  const expected = Buffer.from(proofOf(secret, challenge, port));
  const actual = Buffer.from(given);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** The answer of GET /auth/challenge?challenge=<c>. */
export interface ChallengeAnswer {
  service: "cc-executor";
  /** The port the server listens on (signed into the proofs). */
  port: number;
  auth: boolean;
  /** With auth on: proofOf(token, challenge, port). */
  token_proof?: string;
  /** proofOf(nonce of the runtime file, challenge, port). */
  launch_proof: string;
}

export const CHALLENGE_PATH = "/auth/challenge";
