import { describe, expect, it } from 'vitest';

import { formatVariableValue } from './interpolate';
import { filterMetricNames, parseVariableQuery } from './variables';

describe('parseVariableQuery', () => {
  it('parses label_values with and without a selector', () => {
    expect(parseVariableQuery('label_values(model_name)')).toEqual({ kind: 'label_values', label: 'model_name' });
    expect(parseVariableQuery(' label_values( vllm:num_requests_running , model_name ) ')).toEqual({
      kind: 'label_values',
      label: 'model_name',
      match: 'vllm:num_requests_running',
    });
    expect(parseVariableQuery('label_values(up{job="vllm", instance=~"a|b"}, instance)')).toEqual({
      kind: 'label_values',
      label: 'instance',
      match: 'up{job="vllm", instance=~"a|b"}',
    });
  });

  it('parses metrics(regex) and label_names()', () => {
    expect(parseVariableQuery('metrics(vllm:.*)')).toEqual({ kind: 'metrics', regex: 'vllm:.*' });
    expect(parseVariableQuery('metrics()')).toEqual({ kind: 'metrics', regex: '' });
    expect(parseVariableQuery('label_names()')).toEqual({ kind: 'label_names' });
    expect(parseVariableQuery('label_names(up)')).toEqual({ kind: 'label_names', match: 'up' });
  });

  it('rejects anything else', () => {
    for (const q of ['', 'up', 'label_values()', 'label_values(up, 1bad)', 'query_result(up)', 'label_values(a']) {
      expect(parseVariableQuery(q)).toBeUndefined();
    }
  });
});

describe('filterMetricNames', () => {
  const names = ['vllm:a', 'vllm:b_total', 'up', 'xvllm:a'];
  it('anchors the regex like =~', () => {
    expect(filterMetricNames(names, 'vllm:.*')).toEqual(['vllm:a', 'vllm:b_total']);
    expect(filterMetricNames(names, '.*_total|up')).toEqual(['vllm:b_total', 'up']);
    expect(filterMetricNames(names, '')).toEqual(names);
  });
  it('reports an invalid regex', () => {
    expect(() => filterMetricNames(names, '(')).toThrow(/invalid regular expression/);
  });
});

describe('formatVariableValue', () => {
  it('keeps single values, escaped for a string literal', () => {
    expect(formatVariableValue('10.0.0.5:8000', { multi: false })).toBe('10.0.0.5:8000');
    expect(formatVariableValue('a"b\\c', undefined)).toBe('a\\"b\\\\c');
  });
  it('turns multi-value and All selections into escaped regex alternations', () => {
    expect(formatVariableValue(['a.b', 'c'], { multi: true })).toBe('(a\\\\.b|c)');
    expect(formatVariableValue(['x'], { includeAll: true })).toBe('x');
    expect(formatVariableValue('a+b', { multi: true })).toBe('a\\\\+b');
  });
});
