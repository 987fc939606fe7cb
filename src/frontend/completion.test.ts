import { describe, expect, it } from 'vitest';

import { applySuggestion, completionContext, rankSuggestions } from './completion';

const at = (text: string) => completionContext(text.replace('|', ''), text.indexOf('|'));

describe('completionContext', () => {
  it('finds metric names', () => {
    expect(at('vllm:num|')).toEqual({ kind: 'metric', prefix: 'vllm:num', start: 0 });
    expect(at('sum(rate(vllm:gen|[5m]))')).toEqual({ kind: 'metric', prefix: 'vllm:gen', start: 9 });
    expect(at('a + |')).toEqual({ kind: 'metric', prefix: '', start: 4 });
  });

  it('finds label names inside selectors and groupings', () => {
    expect(at('vllm:num_requests_running{|}')).toEqual({
      kind: 'label',
      prefix: '',
      start: 26,
      metric: 'vllm:num_requests_running',
    });
    expect(at('up{job="x", inst|')).toEqual({ kind: 'label', prefix: 'inst', start: 12, metric: 'up' });
    expect(at('{mod|')).toEqual({ kind: 'label', prefix: 'mod', start: 1, metric: undefined });
    expect(at('sum by (model_name, inst|) (up)')).toEqual({ kind: 'label', prefix: 'inst', start: 20 });
  });

  it('finds label values after any matcher', () => {
    for (const op of ['=', '!=', '=~', '!~']) {
      expect(at(`up{model_name${op}"Qw|"}`)).toEqual({
        kind: 'label-value',
        prefix: 'Qw',
        start: 14 + op.length,
        label: 'model_name',
        metric: 'up',
        quote: '"',
      });
    }
    expect(at("up{job='|'}")).toMatchObject({ kind: 'label-value', label: 'job', quote: "'" });
    expect(at('rate(up{a="1", job=~"v|')).toMatchObject({ kind: 'label-value', label: 'job', prefix: 'v' });
  });

  it('offers nothing in ranges, numbers, strings, comments and after keywords', () => {
    expect(at('rate(up[5|')).toBeUndefined();
    expect(at('up > 1|')).toBeUndefined();
    expect(at('label_replace(up, "a|')).toBeUndefined();
    expect(at('up # comm|')).toBeUndefined();
    expect(at('sum by|')).toBeUndefined();
  });

  it('skips escaped quotes in strings', () => {
    expect(at('up{a="x\\"y", b="|')).toMatchObject({ kind: 'label-value', label: 'b', prefix: '' });
  });
});

describe('rankSuggestions', () => {
  it('puts prefix matches first, then substring matches, case-insensitively', () => {
    expect(rankSuggestions(['b_req', 'req_a', 'REQ_b', 'other'], 'req')).toEqual(['req_a', 'REQ_b', 'b_req']);
    expect(rankSuggestions(['a', 'b'], '')).toEqual(['a', 'b']);
    expect(rankSuggestions(['up'], 'up')).toEqual([]);
    expect(rankSuggestions(['a1', 'a2', 'a3'], 'a', 2)).toEqual(['a1', 'a2']);
  });
});

describe('applySuggestion', () => {
  it('replaces the whole word under the cursor', () => {
    const text = 'rate(vllm:num_reqXX[5m])';
    const ctx = completionContext(text, 17)!;
    expect(applySuggestion(text, 17, ctx, 'vllm:num_requests_running')).toEqual({
      text: 'rate(vllm:num_requests_running[5m])',
      cursor: 30,
    });
  });

  it('closes and escapes label values', () => {
    const open = 'up{model_name="Q';
    expect(applySuggestion(open, open.length, completionContext(open, open.length)!, 'Qwen/Qwen2.5-7B')).toEqual({
      text: 'up{model_name="Qwen/Qwen2.5-7B"',
      cursor: 31,
    });
    const closed = 'up{a="x"}';
    expect(applySuggestion(closed, 7, completionContext(closed, 7)!, 'say "hi"').text).toBe('up{a="say \\"hi\\""}');
  });
});
