/**
 * The query builder's model: one metric, label filters, an optional range
 * function over `$__rate_interval`, and an optional aggregation. It renders
 * to PromQL, and reads back exactly the shapes it renders (any spacing), so
 * switching between builder and code never changes a query silently.
 */

export type MatchOp = '=' | '!=' | '=~' | '!~';
export const MATCH_OPS: MatchOp[] = ['=', '!=', '=~', '!~'];
export const RANGE_FUNCTIONS = ['rate', 'increase', 'irate'] as const;
export type RangeFunction = (typeof RANGE_FUNCTIONS)[number];
export const AGGREGATIONS = ['sum', 'avg', 'min', 'max', 'count'] as const;
export type Aggregation = (typeof AGGREGATIONS)[number];

export interface LabelFilter {
  label: string;
  op: MatchOp;
  value: string;
}

export interface BuilderQuery {
  metric: string;
  filters: LabelFilter[];
  rangeFunction?: RangeFunction;
  aggregation?: Aggregation;
  /** Labels of `by (...)`; empty: aggregate everything. */
  by: string[];
}

export const EMPTY_BUILDER: BuilderQuery = { metric: '', filters: [], by: [] };

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const RANGE = '[$__rate_interval]';

function quote(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

export function renderBuilder(q: BuilderQuery): string {
  const filters = q.filters.filter((f) => f.label !== '');
  let expr = q.metric + (filters.length > 0 ? `{${filters.map((f) => `${f.label}${f.op}${quote(f.value)}`).join(', ')}}` : '');
  if (q.rangeFunction) {
    expr = `${q.rangeFunction}(${expr}${RANGE})`;
  }
  if (q.aggregation) {
    expr = `${q.aggregation}${q.by.length > 0 ? ` by (${q.by.join(', ')})` : ''} (${expr})`;
  }
  return expr;
}

/** Label matchers between braces; undefined when they are not plain `label op "value"` pairs. */
function parseFilters(text: string): LabelFilter[] | undefined {
  const filters: LabelFilter[] = [];
  let i = 0;
  const skip = () => {
    while (i < text.length && /\s/.test(text[i])) {
      i++;
    }
  };
  skip();
  while (i < text.length) {
    const label = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(text.slice(i));
    if (!label) {
      return undefined;
    }
    i += label[0].length;
    skip();
    const op = /^(=~|!~|!=|=)/.exec(text.slice(i));
    if (!op) {
      return undefined;
    }
    i += op[0].length;
    skip();
    if (text[i] !== '"') {
      return undefined;
    }
    i++;
    let value = '';
    for (;;) {
      if (i >= text.length) {
        return undefined;
      }
      const c = text[i++];
      if (c === '"') {
        break;
      }
      if (c === '\\') {
        const next = text[i++];
        value += next === 'n' ? '\n' : next;
      } else {
        value += c;
      }
    }
    filters.push({ label: label[0], op: op[0] as MatchOp, value });
    skip();
    if (text[i] === ',') {
      i++;
      skip();
    } else if (i < text.length) {
      return undefined;
    }
  }
  return filters;
}

function parseSelector(text: string): Pick<BuilderQuery, 'metric' | 'filters'> | undefined {
  const t = text.trim();
  const brace = t.indexOf('{');
  if (brace < 0) {
    return NAME.test(t) ? { metric: t, filters: [] } : undefined;
  }
  const metric = t.slice(0, brace).trim();
  if (!t.endsWith('}') || !NAME.test(metric)) {
    return undefined;
  }
  const filters = parseFilters(t.slice(brace + 1, -1));
  return filters ? { metric, filters } : undefined;
}

/** The builder's view of `expr`, or undefined when the builder cannot show it. */
export function parseBuilder(expr: string): BuilderQuery | undefined {
  let t = expr.trim();
  if (t === '') {
    return { ...EMPTY_BUILDER };
  }
  const out: BuilderQuery = { ...EMPTY_BUILDER, filters: [], by: [] };
  const agg = /^(sum|avg|min|max|count)\s*(?:by\s*\(([^()]*)\))?\s*\(([\s\S]*)\)$/.exec(t);
  if (agg) {
    out.aggregation = agg[1] as Aggregation;
    out.by = (agg[2] ?? '')
      .split(',')
      .map((l) => l.trim())
      .filter((l) => l !== '');
    if (!out.by.every((l) => LABEL.test(l))) {
      return undefined;
    }
    t = agg[3].trim();
  }
  const fn = /^(rate|increase|irate)\s*\(([\s\S]*)\[\s*\$__rate_interval\s*\]\s*\)$/.exec(t);
  if (fn) {
    out.rangeFunction = fn[1] as RangeFunction;
    t = fn[2];
  }
  const selector = parseSelector(t);
  return selector ? { ...out, ...selector } : undefined;
}

/**
 * A value as a regular expression matching only itself in `=~`. Metacharacters
 * go in a character class (`[.]`) rather than behind a backslash, so the PromQL
 * string needs no escapes: model names are full of dots. `^` and `\\` are
 * escaped with a backslash (a class cannot start with `^`).
 */
export function escapeRegex(value: string): string {
  return value.replace(/[.*+?${}()|[\]]/g, '[$&]').replace(/[\\^]/g, '\\$&');
}

/**
 * The selector the metrics browser composes: the metric, and per label the
 * chosen values (`=` for one, `=~` with the values escaped for several).
 */
export function renderSelector(metric: string, picks: Array<{ label: string; values: string[] }>): string {
  const filters = picks
    .filter((p) => p.values.length > 0)
    .map((p) =>
      p.values.length === 1
        ? `${p.label}=${quote(p.values[0])}`
        : `${p.label}=~${quote(p.values.map(escapeRegex).join('|'))}`
    );
  return filters.length > 0 ? `${metric}{${filters.join(', ')}}` : metric;
}
