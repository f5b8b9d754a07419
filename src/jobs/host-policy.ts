// Which hosts the `http` job may call (HTTP_JOB_ALLOW) and which it never may:
// the metadata server and link-local addresses hand out this service's
// credentials, so they are refused even when someone lists them.
import { BlockList, isIP } from 'node:net';

/** Names of the GCE/GKE metadata server; compared without a trailing dot. */
const METADATA_NAMES = new Set(['metadata.google.internal', 'metadata']);

const FORBIDDEN = new BlockList();
FORBIDDEN.addSubnet('169.254.0.0', 16, 'ipv4'); // link-local, incl. 169.254.169.254
FORBIDDEN.addSubnet('fe80::', 10, 'ipv6'); // link-local
// Unique-local fd00::/8 holds GCE's IPv6 metadata server (fd20:ce::254) and
// AWS IMDS (fd00:ec2::254); a cloud host has no business calling the rest.
FORBIDDEN.addSubnet('fd00::', 8, 'ipv6');
// Every IPv6 spelling of 169.254/16 (BlockList also matches ::ffff:a.b.c.d
// against the ipv4 rule; the explicit entries do not depend on that).
FORBIDDEN.addSubnet('::ffff:a9fe:0', 112, 'ipv6'); // IPv4-mapped
FORBIDDEN.addSubnet('::a9fe:0', 112, 'ipv6'); // IPv4-compatible (deprecated, still routed by some stacks)
FORBIDDEN.addSubnet('::ffff:0:a9fe:0', 112, 'ipv6'); // IPv4-translated (SIIT)
FORBIDDEN.addSubnet('64:ff9b::a9fe:0', 112, 'ipv6'); // NAT64 well-known prefix
FORBIDDEN.addSubnet('2002:a9fe::', 32, 'ipv6'); // 6to4

export interface AllowEntry {
  /** Lower-case host name or IP, or a suffix like '.example.com' when wildcard. */
  host: string;
  wildcard: boolean;
  /** undefined = any port. */
  port?: number;
}

/** 'Example.COM.' / '[::1]' -> 'example.com' / '::1'. */
export function normalizeHost(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h.endsWith('.')) h = h.slice(0, -1);
  return h;
}

/** Parse `host`, `host:port`, `*.example.com[:port]`, `[::1]:8080`. */
export function parseAllowEntry(entry: string): AllowEntry {
  const raw = entry.trim();
  let host = raw;
  let port: number | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(raw);
  if (bracketed) {
    host = bracketed[1];
    if (bracketed[2]) port = Number(bracketed[2]);
  } else if (isIP(raw) !== 6) {
    const m = /^(.*):(\d+)$/.exec(raw);
    if (m) {
      host = m[1];
      port = Number(m[2]);
    }
  }
  if (!host || (port !== undefined && (port < 1 || port > 65535))) throw new Error(`invalid HTTP_JOB_ALLOW entry "${entry}"`);
  const wildcard = host.startsWith('*.');
  const normalized = normalizeHost(wildcard ? host.slice(1) : host);
  return port === undefined ? { host: normalized, wildcard } : { host: normalized, wildcard, port };
}

/** True when `host` (normalized) on `port` matches an entry. `*.x.com` matches subdomains, not x.com. */
export function isAllowed(entries: readonly AllowEntry[], host: string, port: number): boolean {
  return entries.some((e) => {
    if (e.port !== undefined && e.port !== port) return false;
    return e.wildcard ? host.endsWith(e.host) && host.length > e.host.length : host === e.host;
  });
}

/** The metadata server by name, or a link-local / metadata IP literal. */
export function isForbiddenHost(host: string): boolean {
  return METADATA_NAMES.has(host) || isForbiddenAddress(host);
}

export function isForbiddenAddress(address: string): boolean {
  // A zone index (fe80::1%eth0) is not part of the address BlockList checks.
  const bare = address.replace(/%.*$/, '');
  const family = isIP(bare);
  if (family === 4) return FORBIDDEN.check(bare, 'ipv4');
  if (family === 6) return FORBIDDEN.check(bare, 'ipv6');
  return false;
}
