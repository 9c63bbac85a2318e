/**
 * Ages and sizes as people write them ("30d", "512M"), shared by the configuration and the CLI so
 * that one spelling works everywhere.
 */

const AGE_UNITS = { w: 7 * 86_400, d: 86_400, h: 3_600, m: 60, s: 1 } as const;

/** "30d", "12h", "90m", "2w", "45s" or a bare number of seconds -> seconds; undefined when unreadable. */
export function parseAgeSeconds(value: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(w|d|h|m|s)?$/i.exec(value.trim());
  if (!m) return undefined;
  return Number(m[1]) * AGE_UNITS[(m[2]?.toLowerCase() ?? "s") as keyof typeof AGE_UNITS];
}

const SIZE_UNITS: Record<string, number> = { "": 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** "512M", "2G", "2GiB", "64k", "1048576" -> bytes (binary units); undefined when unreadable. */
export function parseBytes(value: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$/i.exec(value.trim());
  if (!m) return undefined;
  return Math.round(Number(m[1]) * SIZE_UNITS[m[2]!.toLowerCase()]!);
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value >= 100 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}

export function formatAge(seconds: number): string {
  for (const [unit, size] of Object.entries(AGE_UNITS)) if (seconds >= size && seconds % size === 0) return `${seconds / size}${unit}`;
  return `${seconds}s`;
}

/** A duration for people: "850ms", "12.3s", "4m5s", "2h10m". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${Math.round(s % 60)}s`;
  return `${Math.floor(m / 60)}h${m % 60}m`;
}
