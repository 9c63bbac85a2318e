/** Text for durations, times, sizes, tokens and money, as every view shows them. */

export function duration(ms: number | undefined | null): string {
  if (ms === undefined || ms === null || !Number.isFinite(ms)) return "";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** The time alone when it is today, else the locale's date and time (for one moment in a header). */
export function time(iso: string | number | undefined | null): string {
  const d = toDate(iso);
  if (!d) return "";
  const today = new Date().toDateString() === d.toDateString();
  return today ? d.toLocaleTimeString() : d.toLocaleString();
}

/**
 * Local date and time as `YYYY-MM-DD HH:MM:SS`: always both, one width, sortable by eye (for
 * columns and lists whose rows span several days).
 */
export function dateTime(value: string | number | undefined | null): string {
  const d = toDate(value);
  if (!d) return "";
  const two = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

export function ago(iso: string | number): string {
  const ms = Date.now() - new Date(iso).getTime();
  if (ms < 60_000) return "just now";
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min ago`;
  if (ms < 86_400_000) return `${Math.floor(ms / 3_600_000)} h ago`;
  return new Date(iso).toLocaleDateString();
}

export function tokens(input?: number, output?: number): string {
  if (input === undefined && output === undefined) return "";
  const f = (n: number | undefined) => (n ?? 0).toLocaleString();
  return `${f(input)} / ${f(output)}`;
}

export function cost(usd?: number): string {
  return usd === undefined || usd === null ? "" : `$${usd.toFixed(4)}`;
}

/** 1536 → "1.5 KiB" (binary units, as the server's size limits are given). */
export function bytes(n: number | undefined | null): string {
  if (n === undefined || n === null || !Number.isFinite(n)) return "";
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
  let value = n;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} bytes` : `${value.toFixed(1)} ${units[unit]}`;
}

function toDate(value: string | number | undefined | null): Date | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d;
}
