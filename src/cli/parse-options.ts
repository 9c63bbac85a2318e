import { InvalidArgumentError } from "commander";
import { parseAgeSeconds, parseBytes } from "../units.js";
import { parseCost, parseTokenCount } from "../tasks/model.js";

export function parsePositiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a positive number of seconds, got "${value}"`);
  return n;
}

export function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`expected a port number (0-65535), got "${value}"`);
  return n;
}

export function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  return n;
}

/** A limit given on the command line: "none" (no limit) is Infinity. */
const NONE = /^(none|off|unlimited)$/i;

/** A count, or "none". */
export function parseLimitCount(value: string): number {
  if (NONE.test(value.trim())) return Infinity;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`expected a whole number or "none", got "${value}"`);
  return n;
}

/** "30d", "12h", "90m", "2w", "45s", seconds -> seconds, or "none". */
export function parseAgeOption(value: string): number {
  if (NONE.test(value.trim())) return Infinity;
  const s = parseAgeSeconds(value);
  if (s === undefined) throw new InvalidArgumentError(`expected an age such as 30d, 12h, 90m or 2w, or "none", got "${value}"`);
  return s;
}

/** "2G", "512M", "64k", bytes -> bytes, or "none". */
export function parseSizeOption(value: string): number {
  if (NONE.test(value.trim())) return Infinity;
  const n = parseBytes(value);
  if (n === undefined) throw new InvalidArgumentError(`expected a size such as 2G, 512M or 1048576, or "none", got "${value}"`);
  return n;
}

/** --max-cost: US dollars ("2.5", "$2.50"). */
export function parseCostOption(value: string): number {
  const n = parseCost(value);
  if (n === undefined) throw new InvalidArgumentError(`expected a positive amount of US dollars (e.g. 2.50), got "${value}"`);
  return n;
}

/** --max-tokens: a number of tokens ("200000", "200k", "1.5M"). */
export function parseTokensOption(value: string): number {
  const n = parseTokenCount(value);
  if (n === undefined) throw new InvalidArgumentError(`expected a positive number of tokens (e.g. 200000 or 200k), got "${value}"`);
  return n;
}
