import { DataSourceInstanceSettings, DataSourcePluginMeta, PluginType, ScopedVars, TypedVariableModel } from '@grafana/data';
import { setTemplateSrv, TemplateSrv } from '@grafana/runtime';
import { vi } from 'vitest';

import { VllmDataSource } from '../datasource';
import { CatalogEntry, VllmOptions } from '../types';

/** As the backend sends it: `type`, `suggestedQuery`, `suggestedLegend`, ... */
export const BACKEND_CATALOG = [
  {
    name: 'vllm:num_requests_running',
    type: 'gauge',
    unit: 'requests',
    grafanaUnit: 'short',
    labels: ['model_name'],
    meaning: 'Requests currently running on the GPU',
    help: 'Number of requests in model execution batches.',
    suggestedQuery: 'sum by (model_name) (vllm:num_requests_running)',
    suggestedLegend: '{{model_name}}',
    added: '0.6.0',
    deprecated: null,
    removed: null,
    successor: null,
  },
  {
    name: 'vllm:generation_tokens_total',
    type: 'counter',
    unit: 'tokens',
    labels: ['model_name'],
    meaning: 'Generated tokens',
    added: '0.6.0',
    deprecated: '0.9.0',
    removed: '0.11.0',
    successor: 'vllm:generation_tokens',
    suggestedQuery: 'sum by (model_name) (rate(vllm:generation_tokens_total[$__rate_interval]))',
  },
];

/** The same entries as the datasource hands them to the editor. */
export const CATALOG: CatalogEntry[] = [
  {
    name: 'vllm:num_requests_running',
    kind: 'gauge',
    unit: 'requests',
    meaning: 'Requests currently running on the GPU',
    promql: 'sum by (model_name) (vllm:num_requests_running)',
    legend: '{{model_name}}',
    labels: ['model_name'],
    added: '0.6.0',
  },
  {
    name: 'vllm:generation_tokens_total',
    kind: 'counter',
    unit: 'tokens',
    meaning: 'Generated tokens',
    promql: 'sum by (model_name) (rate(vllm:generation_tokens_total[$__rate_interval]))',
    legend: undefined,
    labels: ['model_name'],
    added: '0.6.0',
    deprecated: '0.9.0',
    removed: '0.11.0',
    successor: 'vllm:generation_tokens',
  },
];

export const METRIC_NAMES = ['vllm:num_requests_running', 'vllm:num_requests_waiting', 'vllm:generation_tokens_total', 'up'];
export const LABEL_NAMES = ['instance', 'job', 'model_name'];
export const LABEL_VALUES: Record<string, string[]> = {
  model_name: ['meta-llama/Llama-3.1-8B', 'Qwen/Qwen2.5-7B'],
  instance: ['10.0.0.5:8000', '10.0.0.6:8000'],
};

export function instanceSettings(jsonData: VllmOptions = {}): DataSourceInstanceSettings<VllmOptions> {
  return {
    id: 1,
    uid: 'vllm-uid',
    type: 'vllm-grafana-datasource',
    name: 'vLLM',
    access: 'proxy',
    readOnly: false,
    jsonData,
    meta: {
      id: 'vllm-grafana-datasource',
      name: 'vLLM',
      type: PluginType.datasource,
      module: 'public/plugins/vllm-grafana-datasource/module.js',
      baseUrl: 'public/plugins/vllm-grafana-datasource',
      info: {
        author: { name: 'vLLM Grafana' },
        description: '',
        links: [],
        logos: { small: '', large: '' },
        screenshots: [],
        updated: '',
        version: '0.1.0',
      },
    } as DataSourcePluginMeta<VllmOptions>,
  };
}

/**
 * A datasource whose only fake part is the resource-fetch boundary:
 * `getResource` answers like the plugin backend's resource routes.
 */
export function makeDatasource() {
  const ds = new VllmDataSource(instanceSettings());
  const getResource = vi.spyOn(ds, 'getResource').mockImplementation(async (path: string, params?: unknown) => {
    const p = (params ?? {}) as Record<string, string>;
    switch (path) {
      case 'metric-names':
        return METRIC_NAMES;
      case 'labels':
        return LABEL_NAMES;
      case 'label-values':
        return LABEL_VALUES[p.label] ?? [];
      case 'catalog':
        return BACKEND_CATALOG;
      default:
        throw new Error(`unexpected resource ${path}`);
    }
  });
  return { ds, getResource };
}

interface FakeVariable {
  name: string;
  value: string | string[];
  multi?: boolean;
  includeAll?: boolean;
}

/**
 * Stands in for Grafana's template service: substitutes $name, ${name} and
 * [[name]], passing each value and its variable to the formatter as Grafana does.
 */
export function installTemplateSrv(variables: FakeVariable[]) {
  const byName = new Map(variables.map((v) => [v.name, v]));
  const srv: TemplateSrv = {
    getVariables: () => variables as unknown as TypedVariableModel[],
    replace(target?: string, scopedVars?: ScopedVars, format?: string | ((value: unknown, variable: unknown) => string)): string {
      if (!target) {
        return target ?? '';
      }
      return target.replace(/\$(\w+)|\$\{(\w+)\}|\[\[(\w+)\]\]/g, (whole, a, b, c) => {
        const name = a ?? b ?? c;
        const scoped = scopedVars?.[name];
        const variable = scoped ? { name, value: scoped.value } : byName.get(name);
        if (!variable) {
          return whole;
        }
        if (typeof format === 'function') {
          return format(variable.value, variable);
        }
        return Array.isArray(variable.value) ? variable.value.join(',') : String(variable.value);
      });
    },
    containsTemplate: (target?: string) => !!target && /\$\w+|\$\{\w+\}/.test(target),
    updateTimeRange: () => {},
  };
  setTemplateSrv(srv);
  return srv;
}
