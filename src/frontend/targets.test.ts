import { describe, expect, it } from 'vitest';

import cases from '../../tests/fixtures/targets.json';
import { checkQueryParameters, checkTarget, checkTargets, durationSeconds, isDuration } from './targets';

/** One shared case: an input and its normalised URL, or null when it must be refused. */
interface TargetCase {
  input: string;
  url: string | null;
}

describe('checkTarget', () => {
  it('parses every shared case as the backend does', () => {
    const all: TargetCase[] = cases;
    expect(all.length).toBeGreaterThan(20);
    for (const { input, url } of all) {
      const check = checkTarget(input);
      if (url === null) {
        expect(check.error, JSON.stringify(input)).toBeDefined();
        expect(check.url, JSON.stringify(input)).toBeUndefined();
      } else {
        expect(check, JSON.stringify(input)).toEqual({ url });
      }
    }
  });

  it('accepts http and https URLs and adds /metrics when there is no path', () => {
    expect(checkTarget('http://10.0.0.5:8000/metrics')).toEqual({ url: 'http://10.0.0.5:8000/metrics' });
    expect(checkTarget(' http://10.0.0.5:8000 ')).toEqual({ url: 'http://10.0.0.5:8000/metrics' });
    expect(checkTarget('https://vllm.example:443/')).toEqual({ url: 'https://vllm.example/metrics' });
    expect(checkTarget('HTTP://VLLM:8000/custom/metrics')).toEqual({ url: 'http://vllm:8000/custom/metrics' });
  });

  it('accepts host and host:port as plain http, port 8000 by default', () => {
    expect(checkTarget('10.0.0.5:8000')).toEqual({ url: 'http://10.0.0.5:8000/metrics' });
    expect(checkTarget('localhost:8000/metrics')).toEqual({ url: 'http://localhost:8000/metrics' });
    expect(checkTarget('gpu-7')).toEqual({ url: 'http://gpu-7:8000/metrics' });
    expect(checkTarget('\u0085gpu-7:+08000\u3000')).toEqual({ url: 'http://gpu-7:8000/metrics' });
    expect(checkTarget('GPU-7:80?a=1')).toEqual({ url: 'http://gpu-7/metrics?a=1' });
    expect(checkTarget('[::1]:8000')).toEqual({ url: 'http://[::1]:8000/metrics' });
    expect(checkTarget('[0:0:0:0:0:0:0:1]')).toEqual({ url: 'http://[::1]:8000/metrics' });
    expect(checkTarget('[::FFFF:10.0.0.5]')).toEqual({ url: 'http://[::ffff:10.0.0.5]:8000/metrics' });
  });

  it('says what is wrong with a refused target', () => {
    expect(checkTarget('ftp://host/metrics').error).toMatch(/"ftp".*use http:\/\/ or https:\/\//);
    expect(checkTarget('http://user:pw@host/metrics').error).toMatch(/credentials/);
    expect(checkTarget('user@host:8000').error).toMatch(/credentials/);
    expect(checkTarget('http://host/metrics#x').error).toMatch(/fragment/);
    expect(checkTarget('http://host/metrics#').error).toMatch(/fragment/);
    expect(checkTarget('::1:8000').error).toMatch(/\[::1:8000\]:port/);
    expect(checkTarget('host:0').error).toMatch(/1 to 65535/);
    expect(checkTarget('host:port').error).toMatch(/1 to 65535/);
    expect(checkTarget(':8000').error).toMatch(/no host/);
    expect(checkTarget('http://').error).toMatch(/no host/);
    expect(checkTarget('[::1').error).toMatch(/unclosed bracket/);
    expect(checkTarget('[::1]x').error).toMatch(/unexpected "x"/);
    expect(checkTarget('host"x:8000').error).toMatch(/only letters, digits/);
    expect(checkTarget('').error).toMatch(/Enter a URL/);
  });
});

describe('checkTargets', () => {
  it('reports targets with the host:port of an earlier one', () => {
    expect(
      checkTargets(['http://a:8000', 'http://a:8000/metrics', 'nope:x', 'a:8000/other', 'https://a:8000', 'a'])
    ).toEqual([
      undefined,
      'Same host:port as target 1',
      'Invalid port: use a number from 1 to 65535',
      'Same host:port as target 1',
      'Same host:port as target 1',
      'Same host:port as target 1',
    ]);
    expect(checkTargets(['a:8000', 'a:8001', 'b:8000', 'http://a', 'https://a'])).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });
});

describe('isDuration', () => {
  it('accepts Prometheus durations', () => {
    for (const d of ['10s', '1m30s', '6h', '500ms', '2d', '1w']) {
      expect(isDuration(d)).toBe(true);
    }
    for (const d of ['10', 's', '1.5s', '10 s', 'often', '']) {
      expect(isDuration(d)).toBe(false);
    }
  });
});

describe('durationSeconds', () => {
  it('adds up the units like the backend', () => {
    expect(durationSeconds('1m30s')).toBe(90);
    expect(durationSeconds('500ms')).toBe(0.5);
    expect(durationSeconds('2h')).toBe(7200);
    expect(durationSeconds('soon')).toBeUndefined();
  });
});

describe('checkQueryParameters', () => {
  it('accepts name=value pairs and refuses what the backend refuses', () => {
    expect(checkQueryParameters('')).toBeUndefined();
    expect(checkQueryParameters('?dedup=true&partial_response=true')).toBeUndefined();
    expect(checkQueryParameters('query=up')).toMatch(/set by the plugin/);
    expect(checkQueryParameters('match%5B%5D=x')).toMatch(/set by the plugin/);
    expect(checkQueryParameters('dedup')).toMatch(/has no value/);
    expect(checkQueryParameters('=1')).toMatch(/has no name/);
  });
});
