import { CoreApp } from '@grafana/data';
import { beforeEach, describe, expect, it } from 'vitest';

import { errorMessage } from './datasource';
import { CATALOG, installTemplateSrv, makeDatasource } from './test/fixtures';
import { VllmQuery } from './types';

const query = (patch: Partial<VllmQuery>): VllmQuery => ({ refId: 'A', expr: 'up', ...patch });

describe('VllmDataSource', () => {
  beforeEach(() => {
    installTemplateSrv([
      { name: 'model', value: ['meta-llama/Llama-3.1-8B', 'Qwen/Qwen2.5-7B'], multi: true },
      { name: 'instance', value: '10.0.0.5:8000' },
      { name: 'single_in_multi', value: ['a.b'], multi: true },
      { name: 'all', value: ['x', 'y'], includeAll: true },
    ]);
  });

  it('drops empty and hidden queries', () => {
    const { ds } = makeDatasource();
    expect(ds.filterQuery(query({ expr: 'up' }))).toBe(true);
    expect(ds.filterQuery(query({ expr: '' }))).toBe(false);
    expect(ds.filterQuery(query({ expr: '   ' }))).toBe(false);
    expect(ds.filterQuery(query({ expr: 'up', hide: true }))).toBe(false);
    expect(ds.filterQuery({ refId: 'A' } as VllmQuery)).toBe(false);
  });

  it('defaults to a range time series query', () => {
    const { ds } = makeDatasource();
    expect(ds.getDefaultQuery(CoreApp.PanelEditor)).toEqual({
      expr: '',
      range: true,
      instant: false,
      format: 'time_series',
    });
  });

  it('interpolates multi-value variables as regex alternations', () => {
    const { ds } = makeDatasource();
    const out = ds.applyTemplateVariables(
      query({
        expr: 'sum(vllm:num_requests_running{model_name=~"$model", instance="$instance"})',
        legendFormat: '{{model_name}} $instance',
        interval: '$step',
      }),
      { step: { text: '30s', value: '30s' } }
    );
    expect(out.expr).toBe(
      'sum(vllm:num_requests_running{model_name=~"(meta-llama/Llama-3\\\\.1-8B|Qwen/Qwen2\\\\.5-7B)", instance="10.0.0.5:8000"})'
    );
    expect(out.legendFormat).toBe('{{model_name}} 10.0.0.5:8000');
    expect(out.interval).toBe('30s');
    expect(out.refId).toBe('A');
  });

  it('regex-escapes a single value of a multi variable and alternates "All" values', () => {
    const { ds } = makeDatasource();
    expect(ds.applyTemplateVariables(query({ expr: 'up{a=~"$single_in_multi"}' }), {}).expr).toBe('up{a=~"a\\\\.b"}');
    expect(ds.applyTemplateVariables(query({ expr: 'up{a=~"$all"}' }), {}).expr).toBe('up{a=~"(x|y)"}');
  });

  it('fetches completion data through the resources', async () => {
    const { ds, getResource } = makeDatasource();
    expect(await ds.metricNames()).toContain('vllm:num_requests_running');
    await ds.metricNames();
    expect(getResource).toHaveBeenCalledTimes(1);
    expect(getResource).toHaveBeenCalledWith('metric-names');
    await ds.labelValues('model_name', 'vllm:num_requests_running');
    expect(getResource).toHaveBeenLastCalledWith('label-values', {
      label: 'model_name',
      'match[]': 'vllm:num_requests_running',
    });
    await ds.labelNames();
    expect(getResource).toHaveBeenLastCalledWith('labels');
    expect(await ds.catalog()).toEqual(CATALOG);
  });

  it('reads the catalog in the form the editor documents, too', async () => {
    const { ds, getResource } = makeDatasource();
    getResource.mockResolvedValueOnce([
      { name: 'm', kind: 'gauge', unit: 'seconds', meaning: 'x', promql: 'max(m)' },
      { name: 'bare' },
      'junk',
    ]);
    expect(await ds.catalog()).toEqual([
      { name: 'm', kind: 'gauge', unit: 'seconds', meaning: 'x', promql: 'max(m)', legend: undefined, labels: [] },
      { name: 'bare', kind: '', unit: '', meaning: '', promql: 'bare', legend: undefined, labels: [] },
    ]);
  });

  it("turns Grafana's fetch errors into the plugin's message", () => {
    expect(errorMessage({ status: 502, data: { error: 'prometheus unreachable' }, statusText: 'Bad Gateway' })).toBe(
      'prometheus unreachable'
    );
    expect(errorMessage({ status: 500, data: {}, statusText: 'Internal Server Error' })).toBe('Internal Server Error');
    expect(errorMessage(new Error('boom'))).toBe('boom');
    expect(errorMessage('plain')).toBe('plain');
  });

  it('rejects a resource answer that is not an array', async () => {
    const { ds, getResource } = makeDatasource();
    getResource.mockResolvedValueOnce({ error: 'nope' });
    await expect(ds.metricNames()).rejects.toThrow(/expected a JSON array/);
    // A failed fetch is not cached.
    expect(await ds.metricNames()).toContain('up');
  });

  describe('variable queries', () => {
    it('label_values(metric, label)', async () => {
      const { ds, getResource } = makeDatasource();
      const values = await ds.metricFindQuery('label_values(vllm:num_requests_running{job="vllm"}, model_name)');
      expect(values).toEqual([
        { text: 'meta-llama/Llama-3.1-8B', value: 'meta-llama/Llama-3.1-8B' },
        { text: 'Qwen/Qwen2.5-7B', value: 'Qwen/Qwen2.5-7B' },
      ]);
      expect(getResource).toHaveBeenCalledWith('label-values', {
        label: 'model_name',
        'match[]': 'vllm:num_requests_running{job="vllm"}',
      });
    });

    it('label_values(label) and chained variables', async () => {
      const { ds, getResource } = makeDatasource();
      expect((await ds.metricFindQuery('label_values(instance)')).map((v) => v.text)).toEqual([
        '10.0.0.5:8000',
        '10.0.0.6:8000',
      ]);
      expect(getResource).toHaveBeenLastCalledWith('label-values', { label: 'instance' });
      await ds.metricFindQuery('label_values(vllm:num_requests_running{model_name=~"$model"}, instance)');
      expect(getResource).toHaveBeenLastCalledWith('label-values', {
        label: 'instance',
        'match[]': 'vllm:num_requests_running{model_name=~"(meta-llama/Llama-3\\\\.1-8B|Qwen/Qwen2\\\\.5-7B)"}',
      });
    });

    it('metrics(regex) filters metric names', async () => {
      const { ds } = makeDatasource();
      expect((await ds.metricFindQuery('metrics(vllm:num_.*)')).map((v) => v.text)).toEqual([
        'vllm:num_requests_running',
        'vllm:num_requests_waiting',
      ]);
    });

    it('label_names()', async () => {
      const { ds } = makeDatasource();
      expect((await ds.metricFindQuery({ query: 'label_names()' })).map((v) => v.text)).toEqual(LABELS);
    });

    it('reports unsupported queries', async () => {
      const { ds } = makeDatasource();
      await expect(ds.metricFindQuery('up')).rejects.toThrow(/Unsupported variable query "up"/);
    });
  });
});

const LABELS = ['instance', 'job', 'model_name'];
