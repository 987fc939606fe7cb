/**
 * Formatting of template variable values inside PromQL, following Grafana's
 * Prometheus datasource: a single-valued variable is inserted as-is (escaped
 * for a quoted string), a multi-value or "All" variable becomes a regex
 * alternation "(a|b)" suitable for `=~`.
 */

interface VariableLike {
  multi?: boolean;
  includeAll?: boolean;
}

/** Escapes a value for use inside a double-quoted PromQL string. */
export function escapeForString(value: string): string {
  return value.replace(/[\\"]/g, (c) => `\\${c}`);
}

const REGEX_SPECIAL = /[$^*{}[\]'+?.()|]/g;

/** Escapes a value so that it matches literally inside a quoted `=~` regex. */
export function escapeForRegex(value: string): string {
  return value.replace(/\\/g, '\\\\\\\\').replace(REGEX_SPECIAL, (c) => `\\\\${c}`);
}

export function formatVariableValue(value: unknown, variable?: VariableLike): string {
  const values = Array.isArray(value) ? value.map(String) : [value === undefined || value === null ? '' : String(value)];
  if (!variable || (!variable.multi && !variable.includeAll)) {
    return values.map(escapeForString).join(',');
  }
  const escaped = values.map(escapeForRegex);
  return escaped.length === 1 ? escaped[0] : `(${escaped.join('|')})`;
}
