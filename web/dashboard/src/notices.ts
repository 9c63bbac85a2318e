import { $ } from "./dom.js";

/** The banner under the header: a lasting message (login problems), or a toast that goes away. */

export function banner(text: string | undefined, kind: "error" | "info" = "error"): void {
  const el = $("#banner");
  el.hidden = !text;
  el.className = `banner ${kind}`;
  el.textContent = text ?? "";
}

let toastTimer: number | undefined;

/** An error that needs no answer: shown for six seconds. */
export function toast(text: string): void {
  banner(text, "error");
  window.clearTimeout(toastTimer);
  toastTimer = window.setTimeout(() => banner(undefined), 6000);
}
