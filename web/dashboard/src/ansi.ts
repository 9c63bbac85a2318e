/**
 * A small streaming ANSI parser: SGR colours and attributes become styled segments, every other
 * escape sequence (cursor moves, erase, OSC titles and links) is dropped. Feeding text in pieces
 * gives the same result as feeding it whole: an escape split between two chunks is held back.
 */

export interface TextStyle {
  fg?: string;
  bg?: string;
  bold?: boolean;
  dim?: boolean;
  italic?: boolean;
  underline?: boolean;
  inverse?: boolean;
}

export interface Segment {
  text: string;
  style: TextStyle;
}

const BASIC = ["black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"];

/** Colour of a 256-colour palette index: the 16 named ones stay classes (themeable), the rest become rgb(). */
function color256(n: number): string {
  if (n < 8) return BASIC[n]!;
  if (n < 16) return `bright-${BASIC[n - 8]!}`;
  if (n < 232) {
    const i = n - 16;
    const level = (v: number) => (v === 0 ? 0 : 55 + v * 40);
    return `rgb(${level(Math.floor(i / 36))},${level(Math.floor(i / 6) % 6)},${level(i % 6)})`;
  }
  const g = 8 + (n - 232) * 10;
  return `rgb(${g},${g},${g})`;
}

// ESC [ params intermediates final | ESC ] ... (BEL | ESC \) | ESC + one char
// eslint-disable-next-line no-control-regex
const ESCAPE = /\u001b(?:\[([0-9;:?<=>]*)[ -/]*([@-~])|\][^\u0007\u001b]*(?:\u0007|\u001b\\)|\([0-9A-Za-z]|[0-9=>@-Z\\-_])/g;
// An escape that may still be incomplete at the end of a chunk.
// eslint-disable-next-line no-control-regex
const PARTIAL = /\u001b(?:\[[0-9;:?<=>]*[ -/]*|\][^\u0007\u001b]*\u001b?|\()?$/;

export class AnsiParser {
  private style: TextStyle = {};
  private carry = "";

  /** Parses the next piece of a stream into styled segments (text keeps its \n and \r). */
  push(input: string): Segment[] {
    let text = this.carry + input;
    this.carry = "";
    const partial = PARTIAL.exec(text);
    if (partial && partial[0].length > 0 && partial[0].length < 256) {
      this.carry = partial[0];
      text = text.slice(0, partial.index);
    }
    const out: Segment[] = [];
    let last = 0;
    ESCAPE.lastIndex = 0;
    for (let m = ESCAPE.exec(text); m; m = ESCAPE.exec(text)) {
      if (m.index > last) out.push({ text: text.slice(last, m.index), style: this.style });
      last = m.index + m[0].length;
      if (m[2] === "m") this.applySgr(m[1] ?? "");
    }
    if (last < text.length) out.push({ text: text.slice(last), style: this.style });
    return out;
  }

  reset(): void {
    this.style = {};
    this.carry = "";
  }

  private applySgr(params: string): void {
    const codes = params === "" ? [0] : params.split(/[;:]/).map((p) => (p === "" ? 0 : Number(p)));
    const s: TextStyle = { ...this.style };
    for (let i = 0; i < codes.length; i++) {
      const c = codes[i]!;
      if (c === 0) {
        for (const k of Object.keys(s)) delete s[k as keyof TextStyle];
      } else if (c === 1) s.bold = true;
      else if (c === 2) s.dim = true;
      else if (c === 3) s.italic = true;
      else if (c === 4) s.underline = true;
      else if (c === 7) s.inverse = true;
      else if (c === 22) s.bold = s.dim = false;
      else if (c === 23) s.italic = false;
      else if (c === 24) s.underline = false;
      else if (c === 27) s.inverse = false;
      else if (c >= 30 && c <= 37) s.fg = BASIC[c - 30];
      else if (c >= 90 && c <= 97) s.fg = `bright-${BASIC[c - 90]}`;
      else if (c === 39) delete s.fg;
      else if (c >= 40 && c <= 47) s.bg = BASIC[c - 40];
      else if (c >= 100 && c <= 107) s.bg = `bright-${BASIC[c - 100]}`;
      else if (c === 49) delete s.bg;
      else if (c === 38 || c === 48) {
        const key = c === 38 ? "fg" : "bg";
        if (codes[i + 1] === 5 && codes[i + 2] !== undefined) {
          s[key] = color256(codes[i + 2]!);
          i += 2;
        } else if (codes[i + 1] === 2 && codes[i + 4] !== undefined) {
          const [r, g, b] = [codes[i + 2]!, codes[i + 3]!, codes[i + 4]!].map((v) => Math.max(0, Math.min(255, v)));
          s[key] = `rgb(${r},${g},${b})`;
          i += 4;
        }
      }
    }
    for (const k of ["bold", "dim", "italic", "underline", "inverse"] as const) if (s[k] === false) delete s[k];
    this.style = s;
  }
}

/** Applies a style to a span: named colours as classes (theme colours), others inline through the CSSOM (allowed by the CSP). */
export function styleSpan(span: HTMLSpanElement, style: TextStyle): void {
  const fg = style.inverse ? style.bg ?? "inverse-fg" : style.fg;
  const bg = style.inverse ? style.fg ?? "inverse-bg" : style.bg;
  if (fg) {
    if (fg.startsWith("rgb")) span.style.color = fg;
    else span.classList.add(`fg-${fg}`);
  }
  if (bg) {
    if (bg.startsWith("rgb")) span.style.backgroundColor = bg;
    else span.classList.add(`bg-${bg}`);
  }
  if (style.bold) span.classList.add("b");
  if (style.dim) span.classList.add("dim");
  if (style.italic) span.classList.add("i");
  if (style.underline) span.classList.add("u");
}

export function isPlain(style: TextStyle): boolean {
  return !style.fg && !style.bg && !style.bold && !style.dim && !style.italic && !style.underline && !style.inverse;
}
