/**
 * The `promql` language of the code editor: words, a Monarch tokenizer and
 * the editing rules (brackets, comments). Registered only when no `promql`
 * language is registered yet, so a language Grafana already has wins.
 */
import type { Monaco, monacoTypes } from '@grafana/ui';

export const PROMQL_LANGUAGE = 'promql';

/** Aggregation operators (written before a parenthesised expression). */
export const AGGREGATIONS = [
  'sum',
  'min',
  'max',
  'avg',
  'group',
  'stddev',
  'stdvar',
  'count',
  'count_values',
  'bottomk',
  'topk',
  'quantile',
  'limitk',
  'limit_ratio',
];

/** PromQL's functions, by name. */
export const FUNCTIONS = [
  'abs',
  'absent',
  'absent_over_time',
  'acos',
  'acosh',
  'asin',
  'asinh',
  'atan',
  'atanh',
  'avg_over_time',
  'ceil',
  'changes',
  'clamp',
  'clamp_max',
  'clamp_min',
  'cos',
  'cosh',
  'count_over_time',
  'day_of_month',
  'day_of_week',
  'day_of_year',
  'days_in_month',
  'deg',
  'delta',
  'deriv',
  'exp',
  'floor',
  'histogram_avg',
  'histogram_count',
  'histogram_fraction',
  'histogram_quantile',
  'histogram_stddev',
  'histogram_stdvar',
  'histogram_sum',
  'holt_winters',
  'hour',
  'idelta',
  'increase',
  'irate',
  'label_join',
  'label_replace',
  'last_over_time',
  'ln',
  'log10',
  'log2',
  'mad_over_time',
  'max_over_time',
  'min_over_time',
  'minute',
  'month',
  'pi',
  'predict_linear',
  'present_over_time',
  'quantile_over_time',
  'rad',
  'rate',
  'resets',
  'round',
  'scalar',
  'sgn',
  'sin',
  'sinh',
  'sort',
  'sort_by_label',
  'sort_by_label_desc',
  'sort_desc',
  'sqrt',
  'stddev_over_time',
  'stdvar_over_time',
  'sum_over_time',
  'tan',
  'tanh',
  'time',
  'timestamp',
  'vector',
  'year',
];

/** Modifiers and set/grouping words. */
export const KEYWORDS = ['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset'];

/** Binary operators written as words. */
export const WORD_OPERATORS = ['and', 'or', 'unless', 'atan2'];

/**
 * The tokenizer. Token names are the ones Monaco's themes (and Grafana's
 * theme on top of them) colour: functions are `predefined`, label names
 * inside a selector `tag`, matchers and arithmetic `operator`.
 */
export const monarchLanguage = {
  defaultToken: '',
  tokenPostfix: '.promql',
  aggregations: AGGREGATIONS,
  functions: FUNCTIONS,
  keywords: KEYWORDS,
  wordOperators: WORD_OPERATORS,
  symbols: /[-+*/%^=!<>~]+/,
  escapes: /\\(?:[abfnrtv\\"'`]|x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|[0-7]{3})/,
  tokenizer: {
    root: [
      { include: '@whitespace' },
      // Grafana's variables: $var, ${var}, [[var]] is not PromQL and stays plain.
      [/\$\{[^}]*\}|\$[a-zA-Z_]\w*/, 'variable'],
      [/\{/, { token: 'delimiter.curly', next: '@selector' }],
      [/\[/, { token: 'delimiter.square', next: '@range' }],
      [/[()]/, 'delimiter.parenthesis'],
      [/,/, 'delimiter'],
      [/@/, 'keyword'],
      { include: '@numbers' },
      [
        /[a-zA-Z_:][\w:]*/,
        {
          cases: {
            '@aggregations': 'keyword',
            '@keywords': 'keyword',
            '@wordOperators': 'operator',
            '@functions': 'predefined',
            '@default': 'identifier',
          },
        },
      ],
      { include: '@strings' },
      [/@symbols/, 'operator'],
    ],
    // Inside {...}: label names, matchers and quoted values.
    selector: [
      { include: '@whitespace' },
      [/\}/, { token: 'delimiter.curly', next: '@pop' }],
      [/[a-zA-Z_][\w]*/, 'tag'],
      [/=~|!~|!=|=/, 'operator'],
      [/,/, 'delimiter'],
      { include: '@strings' },
    ],
    // Inside [...]: a range, a subquery step, or a variable.
    range: [
      [/\]/, { token: 'delimiter.square', next: '@pop' }],
      [/\$\{[^}]*\}|\$[a-zA-Z_]\w*/, 'variable'],
      [/(\d+(?:\.\d+)?(?:ms|[smhdwy]))+/, 'number'],
      [/:/, 'delimiter'],
      [/\s+/, 'white'],
    ],
    numbers: [
      // A duration (offset 5m, @ modifiers take plain numbers).
      [/(\d+(?:ms|[smhdwy]))+/, 'number'],
      [/0[xX][0-9a-fA-F]+/, 'number.hex'],
      [/(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?/, 'number'],
      [/\b(?:[Ii]nf|NaN)\b/, 'number'],
    ],
    strings: [
      [/"/, { token: 'string.quote', next: '@doubleQuoted' }],
      [/'/, { token: 'string.quote', next: '@singleQuoted' }],
      [/`/, { token: 'string.quote', next: '@raw' }],
    ],
    doubleQuoted: [
      [/[^\\"]+/, 'string'],
      [/@escapes/, 'string.escape'],
      [/\\./, 'string.escape.invalid'],
      [/"/, { token: 'string.quote', next: '@pop' }],
    ],
    singleQuoted: [
      [/[^\\']+/, 'string'],
      [/@escapes/, 'string.escape'],
      [/\\./, 'string.escape.invalid'],
      [/'/, { token: 'string.quote', next: '@pop' }],
    ],
    raw: [
      [/[^`]+/, 'string'],
      [/`/, { token: 'string.quote', next: '@pop' }],
    ],
    whitespace: [
      [/\s+/, 'white'],
      [/#.*$/, 'comment'],
    ],
  },
} as monacoTypes.languages.IMonarchLanguage;

/** Brackets, comments and auto-closing pairs. */
export const languageConfiguration: monacoTypes.languages.LanguageConfiguration = {
  comments: { lineComment: '#' },
  brackets: [
    ['{', '}'],
    ['[', ']'],
    ['(', ')'],
  ],
  autoClosingPairs: [
    { open: '{', close: '}' },
    { open: '[', close: ']' },
    { open: '(', close: ')' },
    { open: '"', close: '"', notIn: ['string'] },
    { open: "'", close: "'", notIn: ['string'] },
    { open: '`', close: '`', notIn: ['string'] },
  ],
  surroundingPairs: [
    { open: '{', close: '}' },
    { open: '[', close: ']' },
    { open: '(', close: ')' },
    { open: '"', close: '"' },
    { open: "'", close: "'" },
  ],
  // Metric names hold colons; a word is what completion replaces.
  wordPattern: /[a-zA-Z_:][\w:]*/,
};

/** Registers the `promql` language unless one is registered already. Returns whether it did. */
export function registerPromQL(monaco: Monaco): boolean {
  if (monaco.languages.getLanguages().some((l) => l.id === PROMQL_LANGUAGE)) {
    return false;
  }
  monaco.languages.register({ id: PROMQL_LANGUAGE, aliases: ['PromQL'] });
  monaco.languages.setMonarchTokensProvider(PROMQL_LANGUAGE, monarchLanguage);
  monaco.languages.setLanguageConfiguration(PROMQL_LANGUAGE, languageConfiguration);
  return true;
}
