import { existsSync, readFileSync } from "node:fs";
import { isIPv4 } from "node:net";

/**
 * Who owns the other end of a loopback TCP connection (Linux): the kernel lists every socket in
 * /proc/net/tcp and /proc/net/tcp6 with its owner's uid. The client's socket is the entry whose
 * local address is the connection's remote end and whose remote address is our end. Elsewhere
 * (macOS: no /proc) the owner cannot be found and this answers undefined.
 */

export const PEER_UID_SUPPORTED = process.platform === "linux" && existsSync("/proc/net/tcp");

interface Endpoint {
  address: string;
  port: number;
}

/** "0100007F:1F43" (tcp) or 32 hex digits + port (tcp6), each 32-bit word in host byte order. */
function decodeEndpoint(hex: string): Endpoint | undefined {
  const [addr, port] = hex.split(":");
  if (!addr || !port) return undefined;
  const words = addr.match(/.{8}/g) ?? [];
  const bytes = Buffer.alloc(words.length * 4);
  words.forEach((w, i) => {
    const value = Number.parseInt(w, 16);
    if (LITTLE_ENDIAN) bytes.writeUInt32LE(value, i * 4);
    else bytes.writeUInt32BE(value, i * 4);
  });
  return { address: bytesToAddress(bytes), port: Number.parseInt(port, 16) };
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function bytesToAddress(bytes: Buffer): string {
  if (bytes.length === 4) return [...bytes].join(".");
  // ::ffff:a.b.c.d is IPv4 reached through an IPv6 socket: compare it as IPv4
  if (bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return [...bytes.subarray(12)].join(".");
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  return canonicalAddress(groups.join(":"));
}

/** One spelling per address: "::ffff:127.0.0.1" -> "127.0.0.1", IPv6 expanded to eight groups without leading zeros. */
export function canonicalAddress(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (isIPv4(address)) return address;
  const [head = "", tail = ""] = address.toLowerCase().split("::");
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = address.includes("::") ? [...h, ...Array(8 - h.length - t.length).fill("0"), ...t] : h;
  return groups.map((g) => Number.parseInt(g || "0", 16).toString(16)).join(":");
}

const ESTABLISHED = "01";

/**
 * The uid owning the client socket of the connection `remote` -> `local` (as the server sees it),
 * or undefined when it cannot be found.
 */
export function peerUid(remote: Endpoint, local: Endpoint): number | undefined {
  if (!PEER_UID_SUPPORTED) return undefined;
  const wantLocal = canonicalAddress(remote.address);
  const wantRemote = canonicalAddress(local.address);
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
      const f = line.trim().split(/\s+/);
      if (f.length < 8 || f[3] !== ESTABLISHED) continue;
      const mine = decodeEndpoint(f[1]!);
      if (!mine || mine.port !== remote.port || mine.address !== wantLocal) continue;
      const theirs = decodeEndpoint(f[2]!);
      if (!theirs || theirs.port !== local.port || theirs.address !== wantRemote) continue;
      const uid = Number(f[7]);
      return Number.isInteger(uid) ? uid : undefined;
    }
  }
  return undefined;
}
