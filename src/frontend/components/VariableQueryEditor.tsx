import { SelectableValue } from '@grafana/data';
import { InlineField, InlineFieldRow, Input, RadioButtonGroup, Select } from '@grafana/ui';
import React, { useEffect, useState } from 'react';

import { errorMessage, VllmDataSource } from '../datasource';
import { parseVariableQuery, VariableQuery } from '../variables';

type Kind = VariableQuery['kind'];

export interface Props {
  datasource: VllmDataSource;
  /** The variable's query: the text form (`label_values(...)` etc.), or `{query}`. */
  query: string | { query?: string };
  /** Grafana's legacy variable editor callback: the query to store and its display text. */
  onChange: (query: string, definition: string) => void;
}

const KIND_OPTIONS: Array<SelectableValue<Kind>> = [
  { label: 'Label values', value: 'label_values', description: 'Values of one label, optionally only on the series a selector matches' },
  { label: 'Label names', value: 'label_names', description: 'Label names, optionally only of the series a selector matches' },
  { label: 'Metrics', value: 'metrics', description: 'Metric names matching a regular expression' },
];

/** The text form the datasource's variable queries use. */
export function variableQueryText(q: VariableQuery): string {
  switch (q.kind) {
    case 'label_values':
      return q.match ? `label_values(${q.match}, ${q.label})` : `label_values(${q.label})`;
    case 'label_names':
      return `label_names(${q.match ?? ''})`;
    case 'metrics':
      return `metrics(${q.regex})`;
  }
}

function switchKind(kind: Kind, from: VariableQuery | undefined): VariableQuery {
  const match = from && from.kind !== 'metrics' ? from.match : undefined;
  switch (kind) {
    case 'label_values':
      return { kind, label: from?.kind === 'label_values' ? from.label : '', match };
    case 'label_names':
      return { kind, match };
    case 'metrics':
      return { kind, regex: from?.kind === 'metrics' ? from.regex : '' };
  }
}

const options = (names: string[]) => names.map((n) => ({ label: n, value: n }));

/** Editor of template variable queries, with label and metric names from the plugin. */
export function VariableQueryEditor({ datasource, query, onChange }: Props) {
  const text = typeof query === 'string' ? query : (query?.query ?? '');
  const parsed = parseVariableQuery(text);
  const current: VariableQuery = parsed ?? { kind: 'label_values', label: '' };
  const [labels, setLabels] = useState<string[]>([]);
  const [metrics, setMetrics] = useState<string[]>([]);
  const [loadError, setLoadError] = useState<string | undefined>();
  const [regex, setRegex] = useState(current.kind === 'metrics' ? current.regex : '');

  useEffect(() => {
    let live = true;
    Promise.all([datasource.labelNames(), datasource.metricNames()]).then(
      ([l, m]) => {
        if (live) {
          setLabels(l);
          setMetrics(m);
        }
      },
      (e: unknown) => live && setLoadError(errorMessage(e))
    );
    return () => {
      live = false;
    };
  }, [datasource]);

  const update = (next: VariableQuery) => {
    const q = variableQueryText(next);
    onChange(q, q);
  };

  const match = current.kind !== 'metrics' ? current.match : undefined;
  const selector = (
    <InlineField
      label="Series"
      labelWidth={14}
      tooltip="Optional: a metric name or series selector; only the series it matches count. Typed selectors are kept as written."
    >
      <Select
        inputId="variable-series"
        aria-label="Series selector"
        width={40}
        options={options(metrics)}
        value={match ? { label: match, value: match } : null}
        allowCustomValue
        isClearable
        placeholder="All series"
        onChange={(v: SelectableValue<string> | null) =>
          update({ ...(current as Exclude<VariableQuery, { kind: 'metrics' }>), match: v?.value || undefined })
        }
      />
    </InlineField>
  );

  return (
    <div>
      <InlineFieldRow>
        <InlineField label="Query type" labelWidth={14} invalid={!!loadError} error={loadError}>
          <RadioButtonGroup<Kind>
            options={KIND_OPTIONS}
            value={current.kind}
            onChange={(kind) => update(switchKind(kind, current))}
          />
        </InlineField>
      </InlineFieldRow>
      {current.kind === 'label_values' && (
        <InlineFieldRow>
          <InlineField label="Label" labelWidth={14} tooltip="The label whose values become the variable's options.">
            <Select
              inputId="variable-label"
              aria-label="Label"
              width={28}
              options={options(labels)}
              value={current.label ? { label: current.label, value: current.label } : null}
              allowCustomValue
              placeholder="Choose a label"
              onChange={(v: SelectableValue<string> | null) => v?.value && update({ ...current, label: v.value })}
            />
          </InlineField>
          {selector}
        </InlineFieldRow>
      )}
      {current.kind === 'label_names' && <InlineFieldRow>{selector}</InlineFieldRow>}
      {current.kind === 'metrics' && (
        <InlineFieldRow>
          <InlineField
            label="Regex"
            labelWidth={14}
            tooltip="A regular expression that must match the whole metric name, as Prometheus' =~ does. Empty: all metrics."
          >
            <Input
              aria-label="Metric regex"
              width={40}
              value={regex}
              placeholder=".*"
              onChange={(e: React.ChangeEvent<HTMLInputElement>) => setRegex(e.currentTarget.value)}
              onBlur={() => update({ kind: 'metrics', regex })}
            />
          </InlineField>
        </InlineFieldRow>
      )}
      {text !== '' && !parsed && (
        <InlineFieldRow>
          <InlineField label="Query" labelWidth={14} invalid error="Not a supported variable query: pick a query type above">
            <Input aria-label="Unsupported query" width={60} value={text} readOnly />
          </InlineField>
        </InlineFieldRow>
      )}
    </div>
  );
}
