/**
 * The server's token as the page holds it: taken from the link's #fragment (browsers never send
 * it to the server) and kept in this tab's sessionStorage only.
 */

const TOKEN_KEY = "cc-executor.token";

function tokenFromFragment(): string | undefined {
  const match = /(?:^#|&)token=([^&]*)/.exec(location.hash);
  if (!match) return undefined;
  history.replaceState(null, "", location.pathname + location.search); // out of the address bar and history
  try {
    return decodeURIComponent(match[1]!);
  } catch {
    return match[1];
  }
}

let token: string | undefined = tokenFromFragment();
if (token) sessionStorage.setItem(TOKEN_KEY, token);
else token = sessionStorage.getItem(TOKEN_KEY) ?? undefined;

export function getToken(): string | undefined {
  return token;
}

/** Keeps a token typed by the user (undefined: none). */
export function setToken(value: string | undefined): void {
  token = value;
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
}

/** Forgets a token the server refused; returns whether there was one. */
export function forgetToken(): boolean {
  const had = token !== undefined;
  sessionStorage.removeItem(TOKEN_KEY);
  token = undefined;
  return had;
}

export const authHeaders = (): Record<string, string> => (token ? { Authorization: `Bearer ${token}` } : {});
