/**
 * Output travels as UTF-8 bytes and is decoded to a string only where something reads it as text:
 * the server builds its process.output frames straight from the bytes, and decoding 64 KiB of
 * multi-byte text costs more than everything else on that path.
 */

const BYTES = Symbol("utf8Bytes");

/**
 * Gives `target` an enumerable `data` property holding the text of `bytes` (valid UTF-8), decoded
 * when first read, and keeps the bytes under a non-enumerable key: JSON.stringify, spreading and
 * Object.entries see `data` as a plain string, and copies carry the text, not the bytes.
 */
export function withUtf8Data<T extends object>(target: T, bytes: Buffer): T & { readonly data: string } {
  let text: string | undefined;
  Object.defineProperty(target, "data", {
    enumerable: true,
    configurable: true,
    get: () => (text ??= bytes.toString("utf8")),
  });
  Object.defineProperty(target, BYTES, { value: bytes });
  return target as T & { readonly data: string };
}

/** The UTF-8 bytes behind an object's `data`, when it was made by withUtf8Data (not a copy). */
export function utf8BytesOf(value: unknown): Buffer | undefined {
  return typeof value === "object" && value !== null ? (value as { [BYTES]?: Buffer })[BYTES] : undefined;
}

/** `value` with `extra` fields added; when its `data` is still bytes, the copy keeps them (undecoded) in the same place. */
export function copyWithFields<T extends object>(value: T, extra: Record<string, unknown>): T {
  const bytes = utf8BytesOf(value);
  if (!bytes) return { ...value, ...extra };
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    if (key === "data") withUtf8Data(copy, bytes);
    else copy[key] = (value as Record<string, unknown>)[key];
  }
  return Object.assign(copy, extra) as T;
}

/** How many UTF-8 bytes an object's `data` holds, without decoding it. */
export function utf8DataLength(value: { data?: unknown }): number {
  const bytes = utf8BytesOf(value);
  if (bytes) return bytes.length;
  return typeof value.data === "string" ? Buffer.byteLength(value.data) : 0;
}
