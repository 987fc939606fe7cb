/** Checking and normalising direct-mode scrape targets. */

export interface TargetCheck {
  /** The normalised URL, when valid. */
  url?: string;
  /** Why the target is rejected, when invalid. */
  error?: string;
}

const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;

/**
 * Validates one target URL. Only http and https are accepted; a URL without
 * a path (or with just "/") gets the conventional "/metrics" path.
 */
export function checkTarget(raw: string): TargetCheck {
  const text = raw.trim();
  if (text === '') {
    return { error: 'Enter a URL such as http://10.0.0.5:8000/metrics' };
  }
  const scheme = SCHEME.exec(text);
  if (!scheme) {
    return { error: 'Must start with http:// or https://' };
  }
  const protocol = scheme[1].toLowerCase();
  if (protocol !== 'http' && protocol !== 'https') {
    return { error: `Unsupported scheme "${protocol}": use http or https` };
  }
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    return { error: 'Not a valid URL' };
  }
  if (parsed.hostname === '') {
    return { error: 'The URL has no host' };
  }
  if (parsed.username !== '' || parsed.password !== '') {
    return { error: 'Put credentials in the authentication settings, not in the URL' };
  }
  if (parsed.hash !== '') {
    return { error: 'The URL must not have a #fragment' };
  }
  if (parsed.pathname === '' || parsed.pathname === '/') {
    parsed.pathname = '/metrics';
  }
  return { url: parsed.toString() };
}

/** Per-row error messages for a whole list (invalid URLs and duplicates). */
export function checkTargets(targets: string[]): Array<string | undefined> {
  const seen = new Map<string, number>();
  return targets.map((t, i) => {
    const check = checkTarget(t);
    if (check.error) {
      return check.error;
    }
    const url = check.url as string;
    const first = seen.get(url);
    if (first !== undefined) {
      return `Duplicate of target ${first + 1}`;
    }
    seen.set(url, i);
    return undefined;
  });
}

/** Prometheus durations as accepted in settings, e.g. "10s", "1m30s", "6h". */
const DURATION = /^(\d+(ms|s|m|h|d|w|y))+$/;

export function isDuration(text: string): boolean {
  return DURATION.test(text.trim());
}
