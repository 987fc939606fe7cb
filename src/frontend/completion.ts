/**
 * Where the cursor is in a PromQL expression, and what can be completed
 * there: a metric name, a label name, or a label value.
 */

export type CompletionContext =
  | { kind: 'metric'; prefix: string; start: number }
  | { kind: 'label'; prefix: string; start: number; metric?: string }
  | { kind: 'label-value'; prefix: string; start: number; label: string; metric?: string; quote: string };

const METRIC_TAIL = /[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME_TAIL = /(?:^|,)\s*([a-zA-Z_][a-zA-Z0-9_]*)?$/;
const MATCHER_HEAD = /([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)\s*$/;
const GROUPING_TAIL =
  /\b(?:by|without|on|ignoring|group_left|group_right)\s*\(\s*(?:[a-zA-Z_][a-zA-Z0-9_]*\s*,\s*)*([a-zA-Z_][a-zA-Z0-9_]*)?$/;
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'and', 'or', 'unless']);

function metricBefore(text: string): string | undefined {
  const m = /([a-zA-Z_:][a-zA-Z0-9_:]*)\s*$/.exec(text);
  return m ? m[1] : undefined;
}

/** The completion context at `cursor` in `text`, or undefined where nothing applies. */
export function completionContext(text: string, cursor: number): CompletionContext | undefined {
  let quote: string | undefined;
  let quoteStart = -1;
  let braceStart = -1;
  let inRange = false;
  for (let i = 0; i < cursor; i++) {
    const c = text[i];
    if (quote) {
      if (c === '\\') {
        i++;
      } else if (c === quote) {
        quote = undefined;
      }
      continue;
    }
    if (c === '"' || c === "'" || c === '`') {
      quote = c;
      quoteStart = i;
    } else if (c === '{') {
      braceStart = i;
    } else if (c === '}') {
      braceStart = -1;
    } else if (c === '[') {
      inRange = true;
    } else if (c === ']') {
      inRange = false;
    } else if (c === '#') {
      // A comment runs to the end of the line.
      const eol = text.indexOf('\n', i);
      if (eol === -1 || eol >= cursor) {
        return undefined;
      }
      i = eol;
    }
  }
  const before = text.slice(0, cursor);
  if (quote) {
    if (braceStart < 0 || quoteStart < braceStart) {
      return undefined;
    }
    const matcher = MATCHER_HEAD.exec(text.slice(braceStart + 1, quoteStart));
    if (!matcher) {
      return undefined;
    }
    return {
      kind: 'label-value',
      prefix: text.slice(quoteStart + 1, cursor),
      start: quoteStart + 1,
      label: matcher[1],
      metric: metricBefore(text.slice(0, braceStart)),
      quote,
    };
  }
  if (inRange) {
    return undefined;
  }
  if (braceStart >= 0) {
    const m = LABEL_NAME_TAIL.exec(text.slice(braceStart + 1, cursor));
    if (!m) {
      return undefined;
    }
    const prefix = m[1] ?? '';
    return { kind: 'label', prefix, start: cursor - prefix.length, metric: metricBefore(text.slice(0, braceStart)) };
  }
  const grouping = GROUPING_TAIL.exec(before);
  if (grouping) {
    const prefix = grouping[1] ?? '';
    return { kind: 'label', prefix, start: cursor - prefix.length };
  }
  const word = METRIC_TAIL.exec(before);
  const prefix = word ? word[0] : '';
  if (KEYWORDS.has(prefix)) {
    return undefined;
  }
  // Not right after a digit or a duration ("5m"), which would be a number.
  const charBefore = before[before.length - prefix.length - 1];
  if (charBefore !== undefined && /[0-9.]/.test(charBefore)) {
    return undefined;
  }
  return { kind: 'metric', prefix, start: cursor - prefix.length };
}

/** Candidates containing the prefix (case-insensitive), those starting with it first. */
export function rankSuggestions(candidates: string[], prefix: string, limit = 50): string[] {
  const p = prefix.toLowerCase();
  const starts: string[] = [];
  const contains: string[] = [];
  for (const c of candidates) {
    const lc = c.toLowerCase();
    if (lc === p) {
      continue;
    }
    if (lc.startsWith(p)) {
      starts.push(c);
    } else if (lc.includes(p)) {
      contains.push(c);
    }
  }
  return starts.concat(contains).slice(0, limit);
}

/** The edit choosing `item` in `ctx` makes: replace [start, end) of the text with `insert`. */
export function suggestionEdit(
  text: string,
  cursor: number,
  ctx: CompletionContext,
  item: string
): { start: number; end: number; insert: string } {
  if (ctx.kind === 'label-value') {
    // Escape for the string literal, then close it if it is not closed yet.
    const escaped = item.replace(/[\\"'`]/g, (c) => (c === ctx.quote || c === '\\' ? `\\${c}` : c));
    const closeAt = text.indexOf(ctx.quote, cursor);
    return { start: ctx.start, end: closeAt >= 0 ? closeAt + 1 : cursor, insert: escaped + ctx.quote };
  }
  // Replace the whole word under the cursor, not just its first half.
  const rest = /^[a-zA-Z0-9_:]*/.exec(text.slice(cursor));
  return { start: ctx.start, end: cursor + (rest ? rest[0].length : 0), insert: item };
}

/** Text and new cursor position after choosing `item` in `ctx`. */
export function applySuggestion(
  text: string,
  cursor: number,
  ctx: CompletionContext,
  item: string
): { text: string; cursor: number } {
  const edit = suggestionEdit(text, cursor, ctx, item);
  return { text: text.slice(0, edit.start) + edit.insert + text.slice(edit.end), cursor: edit.start + edit.insert.length };
}

/** The resource calls completion needs (implemented by the datasource). */
export interface CompletionSource {
  metricNames(): Promise<string[]>;
  labelNames(match?: string): Promise<string[]>;
  labelValues(label: string, match?: string): Promise<string[]>;
}

/** What the plugin offers in `ctx`: metric names, label names or label values. */
export async function candidates(source: CompletionSource, ctx: CompletionContext): Promise<string[]> {
  switch (ctx.kind) {
    case 'metric':
      return source.metricNames();
    case 'label':
      return ctx.metric ? source.labelNames(ctx.metric) : source.labelNames();
    case 'label-value':
      return source.labelValues(ctx.label, ctx.metric);
  }
}

export type SuggestionKind = 'metric' | 'label' | 'label-value' | 'function';

/** One entry of the code editor's completion list. */
export interface CodeSuggestion {
  label: string;
  kind: SuggestionKind;
  /** Replaces [start, end) of the text. */
  start: number;
  end: number;
  insert: string;
  /** The list's order (as rankSuggestions gives it). */
  rank: number;
}

/**
 * The code editor's completions at `cursor`: the plugin's metric names, label
 * names or label values (ranked by rankSuggestions), plus the given PromQL
 * function and aggregation names where a metric name may go. `explicit` is an
 * explicit request (Ctrl+Space): only then is an empty metric position
 * completed.
 */
export async function codeSuggestions(
  source: CompletionSource,
  text: string,
  cursor: number,
  explicit: boolean,
  functions: readonly string[] = []
): Promise<CodeSuggestion[]> {
  const ctx = completionContext(text, cursor);
  if (!ctx || (ctx.kind === 'metric' && ctx.prefix === '' && !explicit)) {
    return [];
  }
  const found = rankSuggestions(await candidates(source, ctx), ctx.prefix);
  const out: CodeSuggestion[] = found.map((item, rank) => ({
    label: item,
    kind: ctx.kind,
    ...suggestionEdit(text, cursor, ctx, item),
    rank,
  }));
  if (ctx.kind === 'metric') {
    const names = rankSuggestions([...functions], ctx.prefix).filter((f) => !found.includes(f));
    for (const name of names) {
      out.push({ label: name, kind: 'function', ...suggestionEdit(text, cursor, ctx, name), rank: out.length });
    }
  }
  return out;
}
