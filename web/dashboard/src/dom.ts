/** Tiny DOM helpers: no framework, no innerHTML (every text goes in as text). */

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, unknown>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "className") el.className = String(value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value as EventListener);
    else if (key in el && !key.includes("-")) (el as unknown as Record<string, unknown>)[key] = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) if (child !== null && child !== undefined && child !== false) el.append(typeof child === "number" ? String(child) : child);
  return el;
}

export function $(selector: string, root: ParentNode = document): HTMLElement {
  const el = root.querySelector<HTMLElement>(selector);
  if (!el) throw new Error(`missing element ${selector}`);
  return el;
}

export function badge(status: string, paused = false): HTMLElement {
  const s = paused && status === "running" ? "paused" : status;
  return h("span", { className: `badge s-${s.replace(/[^a-z]/g, "")}` }, s);
}

/** A button that asks once more before doing something destructive (no modal dialogs). */
export function confirmButton(label: string, confirmLabel: string, action: () => void, cls = "danger"): HTMLButtonElement {
  const button = h("button", { className: cls }, label);
  let armed: number | undefined;
  button.addEventListener("click", () => {
    if (armed === undefined) {
      button.textContent = confirmLabel;
      button.classList.add("armed");
      armed = window.setTimeout(() => {
        armed = undefined;
        button.textContent = label;
        button.classList.remove("armed");
      }, 4000);
      return;
    }
    window.clearTimeout(armed);
    armed = undefined;
    button.textContent = label;
    button.classList.remove("armed");
    action();
  });
  return button;
}
