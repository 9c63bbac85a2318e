import { parseAgeSeconds, parseBytes } from "./units.js";

/**
 * The kinds of value a setting can hold, each a parser from what the user wrote (a string from the
 * environment or a settings file, or a flag's value) to the typed value, throwing SettingValueError
 * with what was expected. Plain functions rather than a schema library: every command of the CLI
 * parses the settings before it acts, and building a fifty-field schema object costs a command
 * more start-up time (tens of ms) than the parsing itself.
 */

export class SettingValueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SettingValueError";
  }
}

/** One setting: its parser, and its value when unset (absent: the setting stays undefined). */
export interface Field<T> {
  parse(raw: unknown): T;
  fallback?: () => T;
}

const fail = (message: string): never => {
  throw new SettingValueError(message);
};

/** A finite number: numbers as given, anything else through Number() ("12" -> 12). */
function toNumber(raw: unknown, message: string): number {
  const n = typeof raw === "number" ? raw : Number(raw);
  return Number.isFinite(n) ? n : fail(message);
}

export function text(options: { min?: number; max?: number; pattern?: RegExp; message?: string } = {}): Field<string> {
  const { min = 0, max = Infinity, pattern } = options;
  return {
    parse: (raw) => {
      if (typeof raw !== "string") return fail("expected a string");
      if (raw.length < min) return fail(options.message ?? (min === 1 ? "must not be empty" : `must be at least ${min} characters`));
      if (raw.length > max) return fail(options.message ?? `must be at most ${max} characters`);
      if (pattern && !pattern.test(raw)) return fail(options.message ?? `must match ${pattern}`);
      return raw;
    },
  };
}

/** A whole number from min to max. */
export function int(min: number, max: number): Field<number> {
  const message = `expected a whole number from ${min} to ${max}`;
  return {
    parse: (raw) => {
      const n = toNumber(raw, message);
      return Number.isInteger(n) && n >= min && n <= max ? n : fail(message);
    },
  };
}

/** A number of seconds above 0 (and at most max). */
export function positiveSeconds(max = Infinity): Field<number> {
  const message = max === Infinity ? "expected a number of seconds above 0" : `expected a number of seconds above 0, at most ${max}`;
  return {
    parse: (raw) => {
      const n = toNumber(raw, message);
      return n > 0 && n <= max ? n : fail(message);
    },
  };
}

/** One of the given words. */
export function oneOf<const T extends string>(choices: readonly T[]): Field<T> {
  return { parse: (raw) => (choices.includes(raw as T) ? (raw as T) : fail(`expected one of ${choices.join(", ")}`)) };
}

const TRUE = ["1", "true", "yes", "on"];
const FALSE = ["0", "false", "no", "off"];

/** true/false, or 1/0, yes/no, on/off. */
export const bool: Field<boolean> = {
  parse: (raw) => (typeof raw === "boolean" ? raw : TRUE.includes(raw as string) ? true : FALSE.includes(raw as string) ? false : fail("expected true or false (1/0, yes/no, on/off)")),
};

/** A size in bytes: a number, or with a binary unit ("512k", "64M", "2G", "2GiB"). */
export function bytes(min: number, max: number): Field<number> {
  return {
    parse: (raw) => {
      const n = typeof raw === "number" ? raw : typeof raw === "string" ? (parseBytes(raw) ?? fail("expected bytes, e.g. 1048576, 512k, 64M or 2G")) : fail("expected bytes, e.g. 1048576, 512k, 64M or 2G");
      return Number.isInteger(n) && n >= min && n <= max ? n : fail(`expected a size from ${min} to ${max} bytes`);
    },
  };
}

const MAX_AGE_S = 100 * 365 * 86_400;

/** An age in seconds: a number, or with a unit ("30d", "12h", "90m", "2w"); 0 turns the limit off. */
export const age: Field<number> = {
  parse: (raw) => {
    const message = "expected an age, e.g. 30d, 12h, 90m, 2w or a number of seconds";
    const n = typeof raw === "number" ? raw : typeof raw === "string" ? (parseAgeSeconds(raw) ?? fail(message)) : fail(message);
    return Number.isFinite(n) && n >= 0 && n <= MAX_AGE_S ? n : fail(`expected an age from 0 to 100 years`);
  },
};

/** A list: an array of strings, or from the environment a JSON array of strings or comma-separated values. */
export const stringList: Field<string[]> = {
  parse: (raw) => {
    const message = "expected a JSON array of strings or comma-separated values";
    if (Array.isArray(raw)) return raw.every((x) => typeof x === "string") ? (raw as string[]) : fail(message);
    if (typeof raw !== "string") return fail(message);
    if (!raw.trim().startsWith("[")) return raw.split(",").map((x) => x.trim()).filter(Boolean);
    let list: unknown;
    try {
      list = JSON.parse(raw);
    } catch {
      return fail(message);
    }
    return Array.isArray(list) && list.every((x) => typeof x === "string") ? (list as string[]) : fail(message);
  },
  fallback: () => [],
};

/** A URL (as the WHATWG URL parser reads it; surrounding spaces removed). */
export const url: Field<string> = {
  parse: (raw) => {
    if (typeof raw !== "string") return fail("expected a URL");
    const trimmed = raw.trim();
    return URL.canParse(trimmed) ? trimmed.replace(/[\t\n\r]/g, "") : fail("expected a URL, e.g. redis://127.0.0.1:6379");
  },
};

/** The same field with a value when unset. */
export function withDefault<T>(field: Field<T>, value: T): Field<T> {
  return { parse: field.parse, fallback: () => value };
}

/** Parses every field of `raw`; the problems (key and message) in the fields' order. */
export function parseFields<T extends Record<string, unknown>>(fields: { [K in keyof T]: Field<T[K]> }, raw: Record<string, unknown>): { value: T; problems: Array<{ key: string; message: string }> } {
  const value: Record<string, unknown> = {};
  const problems: Array<{ key: string; message: string }> = [];
  for (const [key, field] of Object.entries(fields) as Array<[string, Field<unknown>]>) {
    const given = raw[key];
    try {
      if (given !== undefined) value[key] = field.parse(given);
      else if (field.fallback) value[key] = field.fallback();
    } catch (err) {
      if (!(err instanceof SettingValueError)) throw err;
      problems.push({ key, message: err.message });
    }
  }
  return { value: value as T, problems };
}
