/** The most telling argument of a tool call (command, path, pattern...), on one line: how progress lines name a tool use. */
export function summarizeInput(input: unknown): string {
  if (!input || typeof input !== "object") return "";
  const o = input as Record<string, unknown>;
  const v = o.command ?? o.file_path ?? o.path ?? o.pattern ?? o.url ?? o.description;
  return typeof v === "string" ? v.split("\n")[0]!.slice(0, 100) : "";
}
