import { describe, expect, it } from 'vitest';

import { BuilderQuery, parseBuilder, renderBuilder, renderSelector } from './builder';

describe('query builder model', () => {
  it('renders metric, filters, range function and aggregation', () => {
    const q: BuilderQuery = {
      metric: 'm_total',
      filters: [
        { label: 'model_name', op: '=', value: 'Qwen/Qwen2.5-7B' },
        { label: 'instance', op: '=~', value: '10\\.0\\..*' },
      ],
      rangeFunction: 'rate',
      aggregation: 'sum',
      by: ['model_name'],
    };
    const expr = renderBuilder(q);
    expect(expr).toBe('sum by (model_name) (rate(m_total{model_name="Qwen/Qwen2.5-7B", instance=~"10\\\\.0\\\\..*"}[$__rate_interval]))');
    expect(parseBuilder(expr)).toEqual(q);
  });

  it('reads back what it renders, with any spacing, and nothing else', () => {
    expect(parseBuilder('  max  by(a,b)(  irate( up { job = "x" , a!~"y\\"z" } [ $__rate_interval ] ) )')).toEqual({
      metric: 'up',
      filters: [
        { label: 'job', op: '=', value: 'x' },
        { label: 'a', op: '!~', value: 'y"z' },
      ],
      rangeFunction: 'irate',
      aggregation: 'max',
      by: ['a', 'b'],
    });
    expect(parseBuilder('up')).toEqual({ metric: 'up', filters: [], by: [] });
    expect(parseBuilder('')).toEqual({ metric: '', filters: [], by: [] });
    for (const code of ['rate(up[5m])', 'sum(up) / 2', 'up{a="b"} offset 5m', 'histogram_quantile(0.9, up)', 'up{a=b}', 'sum without (a) (up)']) {
      expect(parseBuilder(code)).toBeUndefined();
    }
  });

  it('composes the metrics browser selector: = for one value, escaped =~ for several', () => {
    expect(renderSelector('m', [])).toBe('m');
    expect(renderSelector('m', [{ label: 'a', values: [] }])).toBe('m');
    expect(renderSelector('m', [{ label: 'model_name', values: ['Qwen/Qwen2.5-7B'] }])).toBe('m{model_name="Qwen/Qwen2.5-7B"}');
    expect(
      renderSelector('m', [
        { label: 'model_name', values: ['Qwen/Qwen2.5-7B', 'a|b'] },
        { label: 'job', values: ['vllm'] },
      ])
    ).toBe('m{model_name=~"Qwen/Qwen2[.]5-7B|a[|]b", job="vllm"}');
    // ^ and \ cannot go in a class: a backslash, itself escaped in the PromQL string.
    expect(renderSelector('m', [{ label: 'a', values: ['^x\\', 'y'] }])).toBe('m{a=~"\\\\^x\\\\\\\\|y"}');
  });
});
