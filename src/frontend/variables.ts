/** Template variable queries understood by the datasource. */

export type VariableQuery =
  | { kind: 'label_names'; match?: string }
  | { kind: 'label_values'; label: string; match?: string }
  | { kind: 'metrics'; regex: string };

const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*';
const LABEL_NAMES = /^\s*label_names\(\s*(.*?)\s*\)\s*$/s;
// The selector may itself contain commas; the label is always the last argument.
const LABEL_VALUES = new RegExp(`^\\s*label_values\\(\\s*(?:(.+?)\\s*,\\s*)?(${LABEL})\\s*\\)\\s*$`, 's');
const METRICS = /^\s*metrics\(\s*(.*?)\s*\)\s*$/s;

export const SUPPORTED_FORMS = 'label_values(metric, label), label_values(label), label_names() or metrics(regex)';

/** Parses a variable query; undefined when it is none of the supported forms. */
export function parseVariableQuery(query: string): VariableQuery | undefined {
  let m = LABEL_VALUES.exec(query);
  if (m) {
    return m[1] ? { kind: 'label_values', label: m[2], match: m[1] } : { kind: 'label_values', label: m[2] };
  }
  m = LABEL_NAMES.exec(query);
  if (m) {
    return m[1] ? { kind: 'label_names', match: m[1] } : { kind: 'label_names' };
  }
  m = METRICS.exec(query);
  if (m) {
    return { kind: 'metrics', regex: m[1] };
  }
  return undefined;
}

/**
 * Metric names matching a `metrics(regex)` query. Like Prometheus' `=~`, the
 * regex must match the whole name; an invalid regex is reported.
 */
export function filterMetricNames(names: string[], regex: string): string[] {
  if (regex === '' || regex === '.*') {
    return names;
  }
  let re: RegExp;
  try {
    re = new RegExp(`^(?:${regex})$`);
  } catch (e) {
    throw new Error(`metrics(): invalid regular expression "${regex}": ${(e as Error).message}`);
  }
  return names.filter((n) => re.test(n));
}
