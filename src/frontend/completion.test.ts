import { describe, expect, it } from 'vitest';

import {
  applySuggestion,
  codeSuggestions,
  completionContext,
  CompletionSource,
  rankSuggestions,
  suggestionEdit,
} from './completion';

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

describe('suggestionEdit', () => {
  it('replaces the whole word, or the value up to the closing quote', () => {
    const text = 'up{job="a|"}';
    const cursor = text.indexOf('|');
    const clean = text.replace('|', '');
    const ctx = completionContext(clean, cursor)!;
    // An editor that closed the quote already: the edit swallows it once.
    expect(suggestionEdit(clean, cursor, ctx, 'ab"c')).toEqual({ start: 8, end: 10, insert: 'ab\\"c"' });
    const word = completionContext('vllm:num_req', 6)!;
    expect(suggestionEdit('vllm:num_req', 6, word, 'vllm:num_requests_running')).toEqual({
      start: 0,
      end: 12,
      insert: 'vllm:num_requests_running',
    });
  });
});

describe('codeSuggestions', () => {
  const source: CompletionSource = {
    metricNames: async () => ['vllm:num_requests_running', 'vllm:num_requests_waiting', 'process_cpu_seconds_total'],
    labelNames: async (match) => (match ? ['model_name', 'instance'] : ['model_name', 'instance', 'job']),
    labelValues: async (label) => (label === 'model_name' ? ['Qwen/Qwen2.5-7B', 'x"y'] : []),
  };
  const suggest = (text: string, explicit = false, functions: string[] = []) =>
    codeSuggestions(source, text.replace('|', ''), text.indexOf('|'), explicit, functions);

  it('offers the plugin metric names, then matching functions, ranked', async () => {
    const found = await suggest('ra|', false, ['rate', 'irate', 'sum']);
    expect(found.map((s) => [s.label, s.kind, s.rank])).toEqual([
      ['rate', 'function', 0],
      ['irate', 'function', 1],
    ]);
    const metrics = await suggest('sum(vllm:num|)', false, ['sum']);
    expect(metrics.map((s) => s.label)).toEqual(['vllm:num_requests_running', 'vllm:num_requests_waiting']);
    expect(metrics[0]).toMatchObject({ kind: 'metric', start: 4, end: 12, insert: 'vllm:num_requests_running' });
  });

  it('completes an empty metric position only when asked', async () => {
    expect(await suggest('sum(|)')).toEqual([]);
    expect((await suggest('sum(|)', true, ['rate'])).map((s) => s.label)).toEqual([
      'vllm:num_requests_running',
      'vllm:num_requests_waiting',
      'process_cpu_seconds_total',
      'rate',
    ]);
  });

  it('offers label names of the metric and escaped label values', async () => {
    expect((await suggest('vllm:num_requests_running{|}')).map((s) => [s.label, s.kind])).toEqual([
      ['model_name', 'label'],
      ['instance', 'label'],
    ]);
    const values = await suggest('up{model_name="|"}');
    expect(values.map((s) => [s.label, s.kind, s.insert, s.start, s.end])).toEqual([
      ['Qwen/Qwen2.5-7B', 'label-value', 'Qwen/Qwen2.5-7B"', 15, 16],
      ['x"y', 'label-value', 'x\\"y"', 15, 16],
    ]);
  });

  it('offers nothing inside ranges and comments, and fails when the plugin does', async () => {
    expect(await suggest('rate(up[5|])', true)).toEqual([]);
    expect(await suggest('# up|', true)).toEqual([]);
    const failing = { ...source, metricNames: () => Promise.reject(new Error('down')) };
    await expect(codeSuggestions(failing, 'vl', 2, false)).rejects.toThrow('down');
  });
});
