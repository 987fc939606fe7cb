import { describe, expect, it } from 'vitest';

import { checkTarget, checkTargets, isDuration } from './targets';

describe('checkTarget', () => {
  it('accepts http and https URLs and adds /metrics when there is no path', () => {
    expect(checkTarget('http://10.0.0.5:8000/metrics')).toEqual({ url: 'http://10.0.0.5:8000/metrics' });
    expect(checkTarget(' http://10.0.0.5:8000 ')).toEqual({ url: 'http://10.0.0.5:8000/metrics' });
    expect(checkTarget('https://vllm.example:443/')).toEqual({ url: 'https://vllm.example/metrics' });
    expect(checkTarget('HTTP://VLLM:8000/custom/metrics')).toEqual({ url: 'http://vllm:8000/custom/metrics' });
  });

  it('rejects other schemes, missing schemes, credentials and junk', () => {
    expect(checkTarget('ftp://host/metrics').error).toMatch(/use http or https/);
    expect(checkTarget('10.0.0.5:8000').error).toBe('Must start with http:// or https://');
    expect(checkTarget('localhost:8000/metrics').error).toBe('Must start with http:// or https://');
    expect(checkTarget('http://user:pw@host/metrics').error).toMatch(/credentials/);
    expect(checkTarget('http://host/metrics#x').error).toMatch(/fragment/);
    expect(checkTarget('http://').error).toBeDefined();
    expect(checkTarget('').error).toMatch(/Enter a URL/);
  });
});

describe('checkTargets', () => {
  it('reports duplicates after normalisation', () => {
    expect(checkTargets(['http://a:8000', 'http://a:8000/metrics', 'nope'])).toEqual([
      undefined,
      'Duplicate of target 1',
      'Must start with http:// or https://',
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
