import {
  CoreApp,
  DataSourceInstanceSettings,
  MetricFindValue,
  ScopedVars,
  TimeRange,
} from '@grafana/data';
import { DataSourceWithBackend, getTemplateSrv } from '@grafana/runtime';

import { formatVariableValue } from './interpolate';
import { CatalogEntry, DEFAULT_QUERY, VllmOptions, VllmQuery } from './types';
import { filterMetricNames, parseVariableQuery, SUPPORTED_FORMS } from './variables';

/** How long metric and label name lists are reused for completion. */
const NAME_CACHE_MS = 60_000;

function stringArray(value: unknown, what: string): string[] {
  if (!Array.isArray(value)) {
    throw new Error(`Unexpected answer from the plugin's ${what} resource: expected a JSON array`);
  }
  return value.filter((v): v is string => typeof v === 'string');
}

function text(...candidates: unknown[]): string | undefined {
  return candidates.find((c): c is string => typeof c === 'string' && c !== '');
}

function catalogArray(value: unknown): CatalogEntry[] {
  if (!Array.isArray(value)) {
    throw new Error("Unexpected answer from the plugin's catalog resource: expected a JSON array");
  }
  return value
    .filter((v): v is Record<string, unknown> => typeof v === 'object' && v !== null && typeof v.name === 'string')
    .map((v) => ({
      name: String(v.name),
      kind: text(v.kind, v.type) ?? '',
      unit: text(v.unit) ?? '',
      meaning: text(v.meaning, v.help) ?? '',
      promql: text(v.promql, v.suggestedQuery) ?? String(v.name),
      legend: text(v.legend, v.suggestedLegend),
      labels: Array.isArray(v.labels) ? v.labels.filter((l): l is string => typeof l === 'string') : [],
      added: text(v.added),
      deprecated: text(v.deprecated),
      removed: text(v.removed),
      successor: text(v.successor),
    }));
}

/**
 * A readable message for a failed resource call: Grafana rejects with a
 * FetchError whose `data` holds the plugin's JSON body ({"error": "..."}).
 */
export function errorMessage(e: unknown): string {
  if (typeof e === 'object' && e !== null) {
    const err = e as { data?: { error?: unknown; message?: unknown }; message?: unknown; statusText?: unknown };
    const found = text(err.data?.error, err.data?.message, err.message, err.statusText);
    if (found) {
      return found;
    }
  }
  return String(e);
}

interface VariableQueryOptions {
  range?: TimeRange;
  scopedVars?: ScopedVars;
}

export class VllmDataSource extends DataSourceWithBackend<VllmQuery, VllmOptions> {
  /** Standard annotation queries: any query of this datasource can be used. */
  annotations = {};

  private metricNamesCache?: { at: number; names: Promise<string[]> };
  private labelNamesCache?: { at: number; names: Promise<string[]> };
  private catalogCache?: Promise<CatalogEntry[]>;

  constructor(instanceSettings: DataSourceInstanceSettings<VllmOptions>) {
    super(instanceSettings);
  }

  getDefaultQuery(_app: CoreApp): Partial<VllmQuery> {
    return DEFAULT_QUERY;
  }

  /** Hidden queries and queries without an expression are not sent. */
  filterQuery(query: VllmQuery): boolean {
    return !query.hide && typeof query.expr === 'string' && query.expr.trim() !== '';
  }

  applyTemplateVariables(query: VllmQuery, scopedVars: ScopedVars): VllmQuery {
    const templateSrv = getTemplateSrv();
    return {
      ...query,
      expr: templateSrv.replace(query.expr ?? '', scopedVars, formatVariableValue),
      legendFormat: query.legendFormat ? templateSrv.replace(query.legendFormat, scopedVars) : query.legendFormat,
      interval: query.interval ? templateSrv.replace(query.interval, scopedVars) : query.interval,
    };
  }

  /** Used by Explore and "Open in Explore": variables resolved, datasource kept. */
  interpolateVariablesInQueries(queries: VllmQuery[], scopedVars: ScopedVars): VllmQuery[] {
    return queries.map((q) => ({ ...this.applyTemplateVariables(q, scopedVars), datasource: this.getRef() }));
  }

  getQueryDisplayText(query: VllmQuery): string {
    return query.expr ?? '';
  }

  /** All metric names (`GET /metric-names`), cached briefly for completion. */
  metricNames(): Promise<string[]> {
    const now = Date.now();
    if (!this.metricNamesCache || now - this.metricNamesCache.at > NAME_CACHE_MS) {
      const names = this.getResource('metric-names').then((v) => stringArray(v, 'metric-names'));
      names.catch(() => (this.metricNamesCache = undefined));
      this.metricNamesCache = { at: now, names };
    }
    return this.metricNamesCache.names;
  }

  /** Label names (`GET /labels`), optionally limited to series matching a selector. */
  labelNames(match?: string): Promise<string[]> {
    if (match) {
      return this.getResource('labels', { 'match[]': match }).then((v) => stringArray(v, 'labels'));
    }
    const now = Date.now();
    if (!this.labelNamesCache || now - this.labelNamesCache.at > NAME_CACHE_MS) {
      const names = this.getResource('labels').then((v) => stringArray(v, 'labels'));
      names.catch(() => (this.labelNamesCache = undefined));
      this.labelNamesCache = { at: now, names };
    }
    return this.labelNamesCache.names;
  }

  /** Values of one label (`GET /label-values?label=X&match[]=sel`). */
  async labelValues(label: string, match?: string): Promise<string[]> {
    const params: Record<string, string> = { label };
    if (match) {
      params['match[]'] = match;
    }
    return stringArray(await this.getResource('label-values', params), 'label-values');
  }

  /** The vLLM metric catalog (`GET /catalog`), loaded once. */
  catalog(): Promise<CatalogEntry[]> {
    if (!this.catalogCache) {
      this.catalogCache = this.getResource('catalog').then(catalogArray);
      this.catalogCache.catch(() => (this.catalogCache = undefined));
    }
    return this.catalogCache;
  }

  /**
   * Template variable queries: `label_values(metric, label)`,
   * `label_values(label)`, `label_names()` and `metrics(regex)`.
   */
  async metricFindQuery(query: string | { query?: string }, options?: VariableQueryOptions): Promise<MetricFindValue[]> {
    const text = typeof query === 'string' ? query : (query?.query ?? '');
    const interpolated = getTemplateSrv().replace(text, options?.scopedVars, formatVariableValue);
    const parsed = parseVariableQuery(interpolated);
    if (!parsed) {
      throw new Error(`Unsupported variable query "${text}": use ${SUPPORTED_FORMS}`);
    }
    let values: string[];
    switch (parsed.kind) {
      case 'label_values':
        values = await this.labelValues(parsed.label, parsed.match);
        break;
      case 'label_names':
        values = await this.labelNames(parsed.match);
        break;
      case 'metrics':
        values = filterMetricNames(await this.metricNames(), parsed.regex);
        break;
    }
    return values.map((text) => ({ text, value: text }));
  }
}
