import { css } from '@emotion/css';
import { GrafanaTheme2, SelectableValue } from '@grafana/data';
import { Button, IconButton, InlineField, InlineFieldRow, MultiSelect, Select, useStyles2 } from '@grafana/ui';
import React, { useEffect, useState } from 'react';

import {
  Aggregation,
  AGGREGATIONS,
  BuilderQuery,
  LabelFilter,
  MATCH_OPS,
  MatchOp,
  RANGE_FUNCTIONS,
  RangeFunction,
  renderBuilder,
} from '../builder';
import { errorMessage } from '../datasource';
import { CompletionSource } from './PromQLField';

interface Props {
  query: BuilderQuery;
  source: CompletionSource;
  onChange: (query: BuilderQuery) => void;
}

const options = (names: string[]) => names.map((n) => ({ label: n, value: n }));
const selected = (v: string) => (v ? { label: v, value: v } : null);

/** A filter's value, picked from the label's values on the chosen metric. */
function FilterRow({
  filter,
  index,
  labels,
  metric,
  source,
  onChange,
  onRemove,
}: {
  filter: LabelFilter;
  index: number;
  labels: string[];
  metric: string;
  source: CompletionSource;
  onChange: (f: LabelFilter) => void;
  onRemove: () => void;
}) {
  const [values, setValues] = useState<string[]>([]);
  useEffect(() => {
    let live = true;
    if (filter.label) {
      source.labelValues(filter.label, metric || undefined).then(
        (v) => live && setValues(v),
        () => live && setValues([])
      );
    }
    return () => {
      live = false;
    };
  }, [source, filter.label, metric]);
  return (
    <InlineFieldRow>
      <Select
        aria-label={`Filter ${index + 1} label`}
        width={20}
        options={options(labels)}
        value={selected(filter.label)}
        allowCustomValue
        placeholder="label"
        onChange={(v: SelectableValue<string>) => onChange({ ...filter, label: v.value ?? '', value: '' })}
      />
      <Select<MatchOp>
        aria-label={`Filter ${index + 1} operator`}
        width={8}
        options={MATCH_OPS.map((op) => ({ label: op, value: op }))}
        value={filter.op}
        onChange={(v: SelectableValue<MatchOp>) => onChange({ ...filter, op: v.value ?? '=' })}
      />
      <Select
        aria-label={`Filter ${index + 1} value`}
        width={36}
        options={options(values)}
        value={selected(filter.value)}
        allowCustomValue
        placeholder="value"
        onChange={(v: SelectableValue<string>) => onChange({ ...filter, value: v.value ?? '' })}
      />
      <IconButton name="times" aria-label={`Remove filter ${index + 1}`} onClick={onRemove} />
    </InlineFieldRow>
  );
}

/** Builds a query from a metric, label filters, a range function and an aggregation. */
export function QueryBuilder({ query, source, onChange }: Props) {
  const styles = useStyles2(getStyles);
  const [metrics, setMetrics] = useState<string[]>([]);
  const [labels, setLabels] = useState<string[]>([]);
  const [error, setError] = useState<string | undefined>();

  useEffect(() => {
    let live = true;
    source.metricNames().then(
      (m) => live && setMetrics(m),
      (e: unknown) => live && setError(errorMessage(e))
    );
    return () => {
      live = false;
    };
  }, [source]);

  useEffect(() => {
    let live = true;
    (query.metric ? source.labelNames(query.metric) : source.labelNames()).then(
      (l) => live && setLabels(l.filter((n) => n !== '__name__')),
      () => live && setLabels([])
    );
    return () => {
      live = false;
    };
  }, [source, query.metric]);

  const set = (patch: Partial<BuilderQuery>) => onChange({ ...query, ...patch });

  return (
    <div className={styles.builder} data-testid="query-builder">
      <InlineFieldRow>
        <InlineField label="Metric" labelWidth={16} invalid={!!error} error={error}>
          <Select
            inputId="builder-metric"
            aria-label="Metric"
            width={48}
            options={options(metrics)}
            value={selected(query.metric)}
            allowCustomValue
            placeholder="Choose a metric"
            onChange={(v: SelectableValue<string>) => set({ metric: v.value ?? '' })}
          />
        </InlineField>
      </InlineFieldRow>
      <InlineField label="Label filters" labelWidth={16} tooltip="Only the series whose labels match.">
        <div className={styles.filters}>
          {query.filters.map((f, i) => (
            <FilterRow
              key={i}
              filter={f}
              index={i}
              labels={labels}
              metric={query.metric}
              source={source}
              onChange={(next) => set({ filters: query.filters.map((g, j) => (j === i ? next : g)) })}
              onRemove={() => set({ filters: query.filters.filter((_, j) => j !== i) })}
            />
          ))}
          <div>
            <Button
              variant="secondary"
              size="sm"
              icon="plus"
              onClick={() => set({ filters: [...query.filters, { label: '', op: '=', value: '' }] })}
            >
              Add filter
            </Button>
          </div>
        </div>
      </InlineField>
      <InlineFieldRow>
        <InlineField
          label="Range function"
          labelWidth={16}
          tooltip="Per-second rate, increase or instant rate of a counter, over $__rate_interval."
        >
          <Select<RangeFunction>
            inputId="builder-range-function"
            aria-label="Range function"
            width={16}
            options={RANGE_FUNCTIONS.map((f) => ({ label: f, value: f }))}
            value={query.rangeFunction ?? null}
            isClearable
            placeholder="none"
            onChange={(v: SelectableValue<RangeFunction> | null) => set({ rangeFunction: v?.value })}
          />
        </InlineField>
        <InlineField label="Aggregation" labelWidth={12}>
          <Select<Aggregation>
            inputId="builder-aggregation"
            aria-label="Aggregation"
            width={12}
            options={AGGREGATIONS.map((a) => ({ label: a, value: a }))}
            value={query.aggregation ?? null}
            isClearable
            placeholder="none"
            onChange={(v: SelectableValue<Aggregation> | null) =>
              set({ aggregation: v?.value, by: v?.value ? query.by : [] })
            }
          />
        </InlineField>
        {query.aggregation && (
          <InlineField label="by" labelWidth={5}>
            <MultiSelect
              inputId="builder-by"
              aria-label="Aggregate by"
              width={40}
              options={options(labels)}
              value={query.by}
              placeholder="all series together"
              onChange={(v: Array<SelectableValue<string>>) => set({ by: v.map((x) => x.value ?? '').filter(Boolean) })}
            />
          </InlineField>
        )}
      </InlineFieldRow>
      <div className={styles.raw} aria-label="Built query">
        {renderBuilder(query) || 'Choose a metric'}
      </div>
    </div>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  builder: css({ display: 'flex', flexDirection: 'column', gap: theme.spacing(0.5) }),
  filters: css({ display: 'flex', flexDirection: 'column', gap: theme.spacing(0.5) }),
  raw: css({
    fontFamily: theme.typography.fontFamilyMonospace,
    fontSize: theme.typography.bodySmall.fontSize,
    color: theme.colors.text.secondary,
    padding: theme.spacing(0.5, 1),
    background: theme.colors.background.secondary,
  }),
});
