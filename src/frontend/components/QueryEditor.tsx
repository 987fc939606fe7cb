import { css } from '@emotion/css';
import { GrafanaTheme2, QueryEditorProps, SelectableValue } from '@grafana/data';
import {
  Alert,
  Button,
  InlineField,
  InlineFieldRow,
  InlineSwitch,
  Input,
  RadioButtonGroup,
  Select,
  useStyles2,
} from '@grafana/ui';
import React, { useEffect, useMemo, useRef, useState } from 'react';

import { BuilderQuery, parseBuilder, renderBuilder } from '../builder';
import { errorMessage, VllmDataSource } from '../datasource';
import { CatalogEntry, EditorMode, QueryFormat, VllmOptions, VllmQuery } from '../types';
import { MetricsBrowser } from './MetricsBrowser';
import { PromQLField } from './PromQLField';
import { QueryBuilder } from './QueryBuilder';

export type Props = QueryEditorProps<VllmDataSource, VllmQuery, VllmOptions>;

type QueryType = 'range' | 'instant' | 'both';

const TYPE_OPTIONS: Array<SelectableValue<QueryType>> = [
  { label: 'Range', value: 'range', description: 'A series over the dashboard time range' },
  { label: 'Instant', value: 'instant', description: 'One value per series, at the end of the time range' },
  { label: 'Both', value: 'both', description: 'Run as a range and as an instant query' },
];

const MODE_OPTIONS: Array<SelectableValue<EditorMode>> = [
  { label: 'Builder', value: 'builder', description: 'Pick a metric, label filters, a range function and an aggregation' },
  { label: 'Code', value: 'code', description: 'Write PromQL, with completion' },
];

const NOT_IN_BUILDER = 'This query cannot be shown in the builder: edit it as code.';

const FORMAT_OPTIONS: Array<SelectableValue<QueryFormat>> = [
  { label: 'Time series', value: 'time_series' },
  { label: 'Table', value: 'table' },
  { label: 'Heatmap', value: 'heatmap' },
];

function queryType(query: VllmQuery): QueryType {
  if (query.instant && query.range) {
    return 'both';
  }
  return query.instant ? 'instant' : 'range';
}

/** A metric's vLLM release history, e.g. "vLLM 0.6.0+, deprecated in 0.9.0 (use X)". */
export function releaseHistory(entry: CatalogEntry): string {
  const parts: string[] = [];
  if (entry.added) {
    parts.push(`vLLM ${entry.added}+`);
  }
  if (entry.deprecated) {
    parts.push(`deprecated in ${entry.deprecated}`);
  }
  if (entry.removed) {
    parts.push(`removed in ${entry.removed}`);
  }
  const history = parts.join(', ');
  return entry.successor ? `${history}${history ? ' ' : ''}(use ${entry.successor})` : history;
}

/**
 * The expression field's example: the suggested query of the catalog's
 * first per-model counter (the catalog names the metrics, not this editor).
 */
export function examplePromQL(catalog: CatalogEntry[]): string | undefined {
  const perModel = catalog.filter((e) => e.labels.includes('model_name') && !e.removed);
  return (perModel.find((e) => e.kind === 'counter') ?? perModel[0] ?? catalog[0])?.promql;
}

/** The last error reported for this query, if any. */
function lastError(props: Props): string | undefined {
  const { data, query } = props;
  if (!data) {
    return undefined;
  }
  const errors = (data.errors ?? (data.error ? [data.error] : [])).filter(
    (e) => !e.refId || e.refId === query.refId
  );
  const last = errors[errors.length - 1];
  return last ? last.message || last.data?.message || 'Query failed' : undefined;
}

export function QueryEditor(props: Props) {
  const { query, datasource, onChange, onRunQuery } = props;
  const styles = useStyles2(getStyles);
  const [catalog, setCatalog] = useState<CatalogEntry[]>([]);
  const [catalogError, setCatalogError] = useState<string | undefined>();
  const [builderNotice, setBuilderNotice] = useState<string | undefined>();
  const [browsing, setBrowsing] = useState(false);
  // The builder keeps rows that do not show in the expression yet (a filter without a label).
  const [builder, setBuilder] = useState<BuilderQuery | undefined>(() =>
    query.editorMode === 'builder' ? parseBuilder(query.expr ?? '') : undefined
  );
  const mode: EditorMode = query.editorMode === 'builder' && builder ? 'builder' : 'code';

  const latest = useRef({ builder, query, onChange });
  latest.current = { builder, query, onChange };

  // An expression changed elsewhere (the catalog picker, the query's JSON) while in the builder:
  // shown in the builder when it can be, else the query goes to code (and stays there).
  useEffect(() => {
    const { builder: current, query: q, onChange: send } = latest.current;
    if (q.editorMode === 'builder' && (!current || renderBuilder(current) !== (q.expr ?? ''))) {
      const parsed = parseBuilder(q.expr ?? '');
      setBuilder(parsed);
      setBuilderNotice(parsed ? undefined : NOT_IN_BUILDER);
      if (!parsed) {
        send({ ...q, editorMode: 'code' });
      }
    }
  }, [query.editorMode, query.expr]);

  useEffect(() => {
    let live = true;
    datasource.catalog().then(
      (entries) => live && setCatalog(entries),
      (e: unknown) => live && setCatalogError(errorMessage(e))
    );
    return () => {
      live = false;
    };
  }, [datasource]);

  const catalogOptions = useMemo(
    () =>
      catalog.map((entry) => ({
        label: entry.name,
        value: entry.name,
        description: [entry.kind, entry.unit, entry.meaning, releaseHistory(entry)].filter(Boolean).join(' · '),
      })),
    [catalog]
  );

  const change = (patch: Partial<VllmQuery>, run = false) => {
    onChange({ ...query, ...patch });
    if (run) {
      onRunQuery();
    }
  };

  const onPickMetric = (option: SelectableValue<string> | null) => {
    const entry = catalog.find((e) => e.name === option?.value);
    if (entry) {
      // Keep a legend the user wrote; otherwise take the suggested one.
      change({ expr: entry.promql, legendFormat: query.legendFormat || entry.legend }, true);
    }
  };

  const onMode = (next: EditorMode) => {
    if (next === 'builder') {
      const parsed = parseBuilder(query.expr ?? '');
      if (!parsed) {
        setBuilderNotice(NOT_IN_BUILDER);
        return;
      }
      setBuilder(parsed);
    }
    setBuilderNotice(undefined);
    change({ editorMode: next });
  };

  const onBuild = (next: BuilderQuery) => {
    setBuilder(next);
    change({ expr: renderBuilder(next) }, next.metric !== '');
  };

  const onType = (type: QueryType) => {
    change({ instant: type !== 'range', range: type !== 'instant' }, true);
  };

  const error = lastError(props);
  const example = examplePromQL(catalog);

  return (
    <div className={styles.editor}>
      <InlineFieldRow>
        <InlineField
          label="vLLM metric"
          labelWidth={14}
          tooltip="Pick a metric from the vLLM catalog to fill the query with its suggested PromQL."
          invalid={!!catalogError}
          error={catalogError}
        >
          <Select
            inputId="vllm-metric-picker"
            aria-label="vLLM metric"
            width={48}
            options={catalogOptions}
            value={null}
            placeholder={catalogError ? 'Catalog unavailable' : 'Choose a vLLM metric'}
            onChange={onPickMetric}
            isClearable={false}
          />
        </InlineField>
        <InlineField label="Editor" labelWidth={8} tooltip="Builder: pick the parts of a query. Code: write PromQL.">
          <RadioButtonGroup<EditorMode> options={MODE_OPTIONS} value={mode} onChange={onMode} size="sm" />
        </InlineField>
      </InlineFieldRow>
      {mode === 'builder' && builder ? (
        <QueryBuilder query={builder} source={datasource} onChange={onBuild} />
      ) : (
        <>
          <div className={styles.code}>
            <Button
              variant="secondary"
              size="sm"
              icon={browsing ? 'angle-down' : 'angle-right'}
              aria-expanded={browsing}
              onClick={() => setBrowsing(!browsing)}
            >
              Metrics browser
            </Button>
            <PromQLField
              value={query.expr ?? ''}
              source={datasource}
              onChange={(expr) => change({ expr })}
              onRunQuery={onRunQuery}
              placeholder={`PromQL${example ? `, e.g. ${example}` : ''} (Shift+Enter to run, Ctrl+Space to complete)`}
            />
          </div>
          {browsing && (
            <MetricsBrowser
              source={datasource}
              onUse={(selector) => {
                setBrowsing(false);
                change({ expr: selector }, true);
              }}
              onClose={() => setBrowsing(false)}
            />
          )}
        </>
      )}
      {builderNotice && <Alert title={builderNotice} severity="info" />}
      <InlineFieldRow>
        <InlineField
          label="Legend"
          labelWidth={10}
          tooltip="Series name template, e.g. {{model_name}} on {{instance}}. Empty: the series' labels."
        >
          <Input
            aria-label="Legend format"
            width={28}
            value={query.legendFormat ?? ''}
            placeholder="{{model_name}}"
            onChange={(e: React.ChangeEvent<HTMLInputElement>) => change({ legendFormat: e.currentTarget.value })}
            onBlur={onRunQuery}
          />
        </InlineField>
        <InlineField
          label="Min step"
          labelWidth={10}
          tooltip="Lower limit of the query step, e.g. 30s or $__interval. Empty: the datasource's scrape interval."
        >
          <Input
            aria-label="Min step"
            width={12}
            value={query.interval ?? ''}
            placeholder="auto"
            onChange={(e: React.ChangeEvent<HTMLInputElement>) => change({ interval: e.currentTarget.value })}
            onBlur={onRunQuery}
          />
        </InlineField>
        <InlineField label="Type" labelWidth={8} tooltip="Range: values over time. Instant: the latest value only.">
          <RadioButtonGroup<QueryType> options={TYPE_OPTIONS} value={queryType(query)} onChange={onType} size="sm" />
        </InlineField>
        <InlineField label="Format" labelWidth={8} tooltip="How results are laid out: series, a table, or heatmap buckets.">
          <RadioButtonGroup<QueryFormat>
            options={FORMAT_OPTIONS}
            value={query.format ?? 'time_series'}
            onChange={(format) => change({ format }, true)}
            size="sm"
          />
        </InlineField>
        <InlineField
          label="Live"
          labelWidth={8}
          tooltip="Direct mode: stream a new point at every scrape (Grafana Live), no refresh needed. Time series format only; a Prometheus-mode datasource answers without streaming and says so."
        >
          <InlineSwitch
            aria-label="Live"
            value={query.live ?? false}
            onChange={(e: React.FormEvent<HTMLInputElement>) =>
              change({ live: e.currentTarget.checked ? true : undefined }, true)
            }
          />
        </InlineField>
      </InlineFieldRow>
      {error && (
        <Alert title="Query error" severity="error">
          {error}
        </Alert>
      )}
    </div>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  editor: css({ display: 'flex', flexDirection: 'column', gap: theme.spacing(1) }),
  code: css({ display: 'flex', alignItems: 'flex-start', gap: theme.spacing(1) }),
});
