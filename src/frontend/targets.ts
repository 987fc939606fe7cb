/**
 * Checking and normalising direct-mode scrape targets, by the same rules as
 * the backend's `ScrapeTarget::parse` (src/scrape/target.rs); both are tested
 * against tests/fixtures/targets.json.
 *
 * Accepted forms: a full `http://` or `https://` URL, or `host`, `host:port`,
 * `host:port/path` without a scheme (plain HTTP, and port 8000 when none is
 * given). A missing path or `/` becomes `/metrics`. IPv6 addresses need
 * brackets.
 */

export interface TargetCheck {
  /** The normalised URL, when valid. */
  url?: string;
  /** Why the target is rejected, when invalid. */
  error?: string;
}

/** The port a bare host (no scheme, no port) gets: vLLM's API server default. */
const VLLM_DEFAULT_PORT = 8000;
/** The path a target without one gets. */
const DEFAULT_PATH = '/metrics';
const DEFAULT_PORTS = { http: 80, https: 443 } as const;
type Scheme = keyof typeof DEFAULT_PORTS;

/** Unicode White_Space, which the backend trims (unlike String.prototype.trim: U+0085, not U+FEFF). */
const SPACE = '[\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]';
const EDGE_SPACE = new RegExp(`^${SPACE}+|${SPACE}+$`, 'g');
/** What a port may be written as (like Rust's `u16` parsing: optional `+`, ASCII digits). */
const PORT = /^\+?[0-9]+$/;
/** What DNS names and IPv4 addresses are made of (IDNs arrive as punycode). */
const PLAIN_HOST = /^[A-Za-z0-9._-]+$/;
/** An IPv4-mapped IPv6 address as the URL parser writes it; the backend writes it dotted. */
const IPV4_MAPPED = /^\[::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})\]$/;

const EMPTY_ERROR = 'Enter a URL such as http://10.0.0.5:8000/metrics, or host:port';
const PORT_ERROR = 'Invalid port: use a number from 1 to 65535';
const NO_HOST_ERROR = 'Has no host';

/** A valid target's normalised URL and its `host:port` (the `instance` label). */
interface Target {
  url: string;
  instance: string;
}

function asciiLower(text: string): string {
  return text.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

function dottedMapped(host: string): string {
  const m = IPV4_MAPPED.exec(host);
  if (!m) {
    return host;
  }
  const [a, b] = [parseInt(m[1], 16), parseInt(m[2], 16)];
  return `[::ffff:${a >> 8}.${a & 255}.${b >> 8}.${b & 255}]`;
}

function parseTarget(raw: string): Target | { error: string } {
  const text = raw.replace(EDGE_SPACE, '');
  if (text === '') {
    return { error: EMPTY_ERROR };
  }
  let scheme: Scheme = 'http';
  let rest = text;
  let explicitScheme = false;
  const sep = text.indexOf('://');
  if (sep >= 0) {
    const given = asciiLower(text.slice(0, sep));
    if (given !== 'http' && given !== 'https') {
      return { error: `Scheme "${given}" cannot be scraped: use http:// or https://` };
    }
    scheme = given;
    rest = text.slice(sep + 3);
    explicitScheme = true;
  }
  const authorityEnd = rest.search(/[/?#]/);
  const authority = authorityEnd < 0 ? rest : rest.slice(0, authorityEnd);
  const tail = authorityEnd < 0 ? '' : rest.slice(authorityEnd);
  if (authority.includes('@')) {
    return { error: 'Contains a user or password: put credentials in the authentication settings, not in the URL' };
  }
  // Two or more colons outside brackets: an IPv6 address written bare.
  if (!authority.startsWith('[') && authority.split(':').length > 2) {
    return { error: `Looks like an IPv6 address without brackets: write [${authority}]:port` };
  }
  if (authority === '' || authority.startsWith(':')) {
    return { error: NO_HOST_ERROR };
  }
  let hostPart: string;
  let portText: string;
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    if (close < 0) {
      return { error: 'Not a valid host (unclosed bracket)' };
    }
    hostPart = authority.slice(0, close + 1);
    portText = authority.slice(close + 1);
  } else {
    const colon = authority.indexOf(':');
    hostPart = colon < 0 ? authority : authority.slice(0, colon);
    portText = colon < 0 ? '' : authority.slice(colon);
  }
  let port: number | undefined;
  if (portText !== '') {
    if (!portText.startsWith(':')) {
      return { error: `Not a valid host (unexpected "${portText}")` };
    }
    const digits = portText.slice(1);
    port = PORT.test(digits) ? Number(digits) : NaN;
    if (!(port >= 1 && port <= 65535)) {
      return { error: PORT_ERROR };
    }
  }
  if (hostPart === '' || hostPart === '[]') {
    return { error: NO_HOST_ERROR };
  }
  port ??= explicitScheme ? DEFAULT_PORTS[scheme] : VLLM_DEFAULT_PORT;

  let parsed: URL;
  try {
    parsed = new URL(`${scheme}://${hostPart}:${port}${tail}`);
  } catch {
    return { error: 'Not a valid host' };
  }
  // `hash` is also empty for a bare "#"; a '#' after the authority always starts a fragment.
  if (tail.includes('#')) {
    return { error: 'Has a #fragment, which a scrape cannot use' };
  }
  const host = dottedMapped(parsed.hostname);
  if (host === '') {
    return { error: NO_HOST_ERROR };
  }
  if (!host.startsWith('[') && !PLAIN_HOST.test(host)) {
    return { error: "Not a valid host (only letters, digits, '-', '.' and '_' are allowed)" };
  }
  const path = parsed.pathname === '' || parsed.pathname === '/' ? DEFAULT_PATH : parsed.pathname;
  const shownPort = port === DEFAULT_PORTS[scheme] ? '' : `:${port}`;
  return { url: `${scheme}://${host}${shownPort}${path}${parsed.search}`, instance: `${host}:${port}` };
}

/**
 * Validates one target and gives its normalised URL: `http://` and `https://`
 * URLs, or `host[:port][/path]` (plain http, port 8000 by default); a missing
 * path or "/" becomes "/metrics".
 */
export function checkTarget(raw: string): TargetCheck {
  const target = parseTarget(raw);
  return 'error' in target ? { error: target.error } : { url: target.url };
}

/**
 * Per-row error messages for a whole list: invalid targets, and targets with
 * the host:port of an earlier one (the backend keeps series per host:port).
 */
export function checkTargets(targets: string[]): Array<string | undefined> {
  const seen = new Map<string, number>();
  return targets.map((t, i) => {
    const target = parseTarget(t);
    if ('error' in target) {
      return target.error;
    }
    const first = seen.get(target.instance);
    if (first !== undefined) {
      return `Same host:port as target ${first + 1}`;
    }
    seen.set(target.instance, i);
    return undefined;
  });
}

/** Prometheus durations as accepted in settings, e.g. "10s", "1m30s", "6h". */
const DURATION = /^(\d+(ms|s|m|h|d|w|y))+$/;

export function isDuration(text: string): boolean {
  return DURATION.test(text.trim());
}

const UNIT_SECONDS: Record<string, number> = {
  ms: 0.001,
  s: 1,
  m: 60,
  h: 3600,
  d: 86400,
  w: 604800,
  y: 31536000,
};

/** Seconds in a Prometheus duration such as "1m30s", or undefined when it is not one. */
export function durationSeconds(text: string): number | undefined {
  const t = text.trim();
  if (!isDuration(t)) {
    return undefined;
  }
  let total = 0;
  for (const m of t.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)) {
    total += Number(m[1]) * UNIT_SECONDS[m[2]];
  }
  return total;
}

/** Parameters the backend sets itself for each query (mirrors settings.rs). */
const RESERVED_PARAMS = ['query', 'time', 'start', 'end', 'step', 'timeout', 'match[]'];

/** Why a `customQueryParameters` value is refused, or undefined when it is fine. */
export function checkQueryParameters(text: string): string | undefined {
  for (const pair of text.replace(/^\?/, '').split('&')) {
    if (pair === '') {
      continue;
    }
    const eq = pair.indexOf('=');
    if (eq < 0) {
      return `"${pair}" has no value: write name=value pairs joined by &`;
    }
    let name: string;
    try {
      name = decodeURIComponent(pair.slice(0, eq).replace(/\+/g, ' '));
    } catch {
      return `"${pair}" is not URL-encoded correctly`;
    }
    if (name.trim() === '') {
      return `"${pair}" has no name`;
    }
    if (RESERVED_PARAMS.includes(name)) {
      return `"${name}" is set by the plugin for each query and cannot be overridden`;
    }
  }
  return undefined;
}
