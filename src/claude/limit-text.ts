/**
 * The usage-limit message as the CLI prints it, for runs where no rate_limit_event said so:
 * "You've hit your limit · resets 10:04pm (UTC)", "You've hit your 5-hour limit · resets …",
 * "You've hit your weekly limit · resets Dec 3, 10pm (Europe/Berlin)", "You're out of extra usage · …".
 */
const LIMIT_RE = /You've hit your (?:[\w-]+ )*limit|You're out of extra usage/i;
const RESET_RE = /resets (?:([A-Z][a-z]{2}) (\d{1,2}), (?:(\d{4}), )?)?(\d{1,2})(?::(\d{2}))?\s*([ap]m)(?: \(([^)]+)\))?/i;
const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

export function isUsageLimitText(text: string): boolean {
  return LIMIT_RE.test(text);
}

/**
 * The reset time in a usage-limit message, as epoch seconds; undefined when the text names none or
 * a time zone this runtime does not know. A time without a date is the next such time. The CLI
 * prints it to the minute (seconds cut off), so the end of that minute is returned: waiting until
 * then never wakes up before the reset.
 */
export function resetFromLimitText(text: string, now = Date.now()): number | undefined {
  const m = RESET_RE.exec(text);
  if (!m) return undefined;
  const [, monthName, dayText, yearText, hourText, minuteText, ampm, zone = "UTC"] = m;
  let hour = Number(hourText) % 12;
  if (ampm!.toLowerCase() === "pm") hour += 12;
  const minute = Number(minuteText ?? 0);
  const today = wallDate(now, zone);
  if (!today) return undefined;
  const month = monthName ? MONTHS.indexOf(monthName.toLowerCase()) : today.month;
  if (month < 0) return undefined;
  const day = dayText ? Number(dayText) : today.day;
  let year = yearText ? Number(yearText) : today.year;
  let epochMs = zonedToEpoch(year, month, day, hour, minute, zone);
  if (!dayText && epochMs < now - 60_000) epochMs = zonedToEpoch(year, month, day + 1, hour, minute, zone);
  else if (dayText && !yearText && epochMs < now - 86_400_000) epochMs = zonedToEpoch(++year, month, day, hour, minute, zone);
  return Math.round(epochMs / 1000) + 60;
}

/** The calendar date at `epochMs` in `zone` (month 0-based), or undefined for an unknown zone. */
function wallDate(epochMs: number, zone: string): { year: number; month: number; day: number } | undefined {
  const parts = wallParts(epochMs, zone);
  return parts && { year: parts.year, month: parts.month, day: parts.day };
}

function wallParts(epochMs: number, zone: string): { year: number; month: number; day: number; hour: number; minute: number } | undefined {
  let format: Intl.DateTimeFormat;
  try {
    format = new Intl.DateTimeFormat("en-US", { timeZone: zone, year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", hourCycle: "h23" });
  } catch {
    return undefined;
  }
  const get = (type: string) => Number(format.formatToParts(new Date(epochMs)).find((p) => p.type === type)?.value);
  return { year: get("year"), month: get("month") - 1, day: get("day"), hour: get("hour"), minute: get("minute") };
}

/** Epoch milliseconds of a wall-clock time in `zone` (two passes settle a DST change). */
function zonedToEpoch(year: number, month: number, day: number, hour: number, minute: number, zone: string): number {
  const wanted = Date.UTC(year, month, day, hour, minute);
  let guess = wanted;
  for (let i = 0; i < 2; i++) {
    const seen = wallParts(guess, zone)!;
    guess += wanted - Date.UTC(seen.year, seen.month, seen.day, seen.hour, seen.minute);
  }
  return guess;
}
