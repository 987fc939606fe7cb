import { css, cx } from '@emotion/css';
import { GrafanaTheme2 } from '@grafana/data';
import { Button, Input, useStyles2 } from '@grafana/ui';
import React, { useEffect, useMemo, useState } from 'react';

import { renderSelector } from '../builder';
import { errorMessage } from '../datasource';
import { CompletionSource } from './PromQLField';

interface Props {
  source: CompletionSource;
  /** Called with the composed selector. */
  onUse: (selector: string) => void;
  onClose: () => void;
}

/** Most metric names listed at once; the filter narrows the rest. */
const SHOWN = 300;

/**
 * Browse the plugin's metrics, then a metric's labels and their values, and
 * compose a series selector from the picks.
 */
export function MetricsBrowser({ source, onUse, onClose }: Props) {
  const styles = useStyles2(getStyles);
  const [metrics, setMetrics] = useState<string[]>([]);
  const [filter, setFilter] = useState('');
  const [metric, setMetric] = useState('');
  const [labels, setLabels] = useState<string[]>([]);
  const [values, setValues] = useState<Record<string, string[]>>({});
  const [picked, setPicked] = useState<Record<string, string[]>>({});
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
    setLabels([]);
    setValues({});
    setPicked({});
    if (metric) {
      source.labelNames(metric).then(
        (l) => live && setLabels(l.filter((n) => n !== '__name__')),
        (e: unknown) => live && setError(errorMessage(e))
      );
    }
    return () => {
      live = false;
    };
  }, [source, metric]);

  const shown = useMemo(() => {
    const f = filter.toLowerCase();
    return metrics.filter((m) => m.toLowerCase().includes(f)).slice(0, SHOWN);
  }, [metrics, filter]);

  const toggleLabel = (label: string) => {
    if (label in values) {
      const without = <T,>(record: Record<string, T>) =>
        Object.fromEntries(Object.entries(record).filter(([k]) => k !== label));
      setValues(without(values));
      setPicked(without(picked));
      return;
    }
    source.labelValues(label, metric).then(
      (v) => setValues((old) => ({ ...old, [label]: v })),
      (e: unknown) => setError(errorMessage(e))
    );
  };

  const toggleValue = (label: string, value: string) => {
    const now = picked[label] ?? [];
    setPicked({ ...picked, [label]: now.includes(value) ? now.filter((v) => v !== value) : [...now, value] });
  };

  const selector = metric
    ? renderSelector(
        metric,
        Object.entries(picked).map(([label, v]) => ({ label, values: v }))
      )
    : '';

  return (
    <div className={styles.browser} data-testid="metrics-browser">
      <div className={styles.columns}>
        <div className={styles.column}>
          <div className={styles.heading}>1. Metric</div>
          <Input
            aria-label="Filter metrics"
            placeholder="Filter"
            value={filter}
            onChange={(e: React.ChangeEvent<HTMLInputElement>) => setFilter(e.currentTarget.value)}
          />
          <ul className={styles.list} aria-label="Metrics">
            {shown.map((m) => (
              <li key={m}>
                <button
                  type="button"
                  aria-pressed={m === metric}
                  className={cx(styles.item, m === metric && styles.selected)}
                  onClick={() => setMetric(m === metric ? '' : m)}
                >
                  {m}
                </button>
              </li>
            ))}
          </ul>
        </div>
        <div className={styles.column}>
          <div className={styles.heading}>2. Labels</div>
          <ul className={styles.list} aria-label="Labels">
            {labels.map((l) => (
              <li key={l}>
                <button
                  type="button"
                  aria-pressed={l in values}
                  className={cx(styles.item, l in values && styles.selected)}
                  onClick={() => toggleLabel(l)}
                >
                  {l}
                </button>
              </li>
            ))}
          </ul>
        </div>
        <div className={styles.column}>
          <div className={styles.heading}>3. Values</div>
          {Object.entries(values).map(([label, vs]) => (
            <ul key={label} className={styles.list} aria-label={`Values of ${label}`}>
              <li className={styles.label}>{label}</li>
              {vs.map((v) => (
                <li key={v}>
                  <button
                    type="button"
                    aria-pressed={(picked[label] ?? []).includes(v)}
                    className={cx(styles.item, (picked[label] ?? []).includes(v) && styles.selected)}
                    onClick={() => toggleValue(label, v)}
                  >
                    {v}
                  </button>
                </li>
              ))}
            </ul>
          ))}
        </div>
      </div>
      {error && <div className={styles.error}>{error}</div>}
      <div className={styles.footer}>
        <code aria-label="Selector">{selector || 'Pick a metric'}</code>
        <Button size="sm" disabled={!selector} onClick={() => onUse(selector)}>
          Use query
        </Button>
        <Button size="sm" variant="secondary" onClick={onClose}>
          Close
        </Button>
      </div>
    </div>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  browser: css({
    border: `1px solid ${theme.colors.border.weak}`,
    padding: theme.spacing(1),
    background: theme.colors.background.secondary,
  }),
  columns: css({ display: 'grid', gridTemplateColumns: '2fr 1fr 2fr', gap: theme.spacing(1) }),
  column: css({ display: 'flex', flexDirection: 'column', gap: theme.spacing(0.5), minWidth: 0 }),
  heading: css({ fontWeight: theme.typography.fontWeightMedium }),
  list: css({ listStyle: 'none', margin: 0, padding: 0, maxHeight: 220, overflowY: 'auto' }),
  label: css({ color: theme.colors.text.secondary, fontSize: theme.typography.bodySmall.fontSize }),
  item: css({
    display: 'block',
    width: '100%',
    textAlign: 'left',
    border: 'none',
    background: 'none',
    color: theme.colors.text.primary,
    padding: theme.spacing(0.25, 0.5),
    fontFamily: theme.typography.fontFamilyMonospace,
    fontSize: theme.typography.bodySmall.fontSize,
    cursor: 'pointer',
    overflow: 'hidden',
    textOverflow: 'ellipsis',
    whiteSpace: 'nowrap',
  }),
  selected: css({ background: theme.colors.action.selected }),
  error: css({ color: theme.colors.error.text }),
  footer: css({ display: 'flex', alignItems: 'center', gap: theme.spacing(1), marginTop: theme.spacing(1) }),
});
