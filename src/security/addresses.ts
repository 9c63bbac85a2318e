/** Loopback names and addresses: 127.0.0.0/8, ::1, IPv4-mapped 127.0.0.1, "localhost". */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127(\.\d{1,3}){3}$/.test(h) || /^::ffff:127(\.\d{1,3}){3}$/.test(h);
}

/** The Host header without its port ("[::1]:8003" -> "::1"). */
export function hostName(host: string | undefined): string {
  if (!host) return "";
  const bracketed = /^\[([^\]]*)\](?::\d*)?$/.exec(host);
  return bracketed ? bracketed[1]! : host.replace(/:\d*$/, "");
}
