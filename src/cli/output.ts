/** Terminal output helpers: colours only on a TTY and never when NO_COLOR is set (https://no-color.org). */

const codes = { red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36, gray: 90, bold: 1, dim: 2 } as const;
export type Style = keyof typeof codes;

export function colorEnabled(stream: NodeJS.WriteStream = process.stderr): boolean {
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== "") return false;
  if (process.env.FORCE_COLOR && process.env.FORCE_COLOR !== "0") return true;
  return Boolean(stream.isTTY);
}

export function style(text: string, s: Style, stream: NodeJS.WriteStream = process.stderr): string {
  return colorEnabled(stream) ? `\u001b[${codes[s]}m${text}\u001b[0m` : text;
}

/** A status line for people, on stderr (stdout stays for data). */
export function info(message: string): void {
  process.stderr.write(`${message}\n`);
}

export function warn(message: string): void {
  process.stderr.write(`${style("warning:", "yellow")} ${message}\n`);
}

export function error(message: string): void {
  process.stderr.write(`${style("error:", "red")} ${message}\n`);
}

/** One JSON document on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export { formatDuration } from "../units.js";

/** A moment for people: local date and time, "2026-11-25 16:38:29". */
export function formatTime(at: number | string | Date): string {
  const d = new Date(at);
  if (Number.isNaN(d.getTime())) return String(at);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
