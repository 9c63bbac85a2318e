import { $ } from "./dom.js";
import { banner } from "./notices.js";
import { setToken } from "./token.js";

/** The login form (a token typed by hand) versus the app: which one the page shows. */

export function showLogin(message: string | undefined): void {
  document.body.classList.add("locked");
  $("#app").hidden = true;
  $("#login").hidden = false;
  banner(message);
  ($("#token-input") as HTMLInputElement).focus();
}

export function showApp(): void {
  document.body.classList.remove("locked");
  $("#login").hidden = true;
  $("#app").hidden = false;
  banner(undefined);
}

/** Keeps the token typed into the form and calls `connect` with it. */
export function setupLoginForm(connect: () => void): void {
  $("#login-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const input = $("#token-input") as HTMLInputElement;
    setToken(input.value.trim() || undefined);
    input.value = "";
    banner(undefined);
    connect();
  });
}
