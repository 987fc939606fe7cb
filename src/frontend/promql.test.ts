import { describe, expect, it } from 'vitest';

import { AGGREGATIONS, FUNCTIONS, KEYWORDS, PROMQL_LANGUAGE, registerPromQL, WORD_OPERATORS } from './promql';

describe('promql language', () => {
  it('names each word once', () => {
    const words = [...AGGREGATIONS, ...FUNCTIONS, ...KEYWORDS, ...WORD_OPERATORS];
    expect(new Set(words).size).toBe(words.length);
  });

  it('tokenizes PromQL with Monaco', async () => {
    const monaco = await import('monaco-editor/esm/vs/editor/editor.api.js');
    expect(registerPromQL(monaco as never)).toBe(true);
    expect(registerPromQL(monaco as never)).toBe(false);
    const line = 'sum by (job) (rate(up{job=~"a.*"}[5m] offset 1h)) > 0.5 and on() vector(1) # note';
    const [tokens] = monaco.editor.tokenize(line, PROMQL_LANGUAGE);
    const at = (text: string, from = 0) => {
      const offset = line.indexOf(text, from);
      const token = [...tokens].reverse().find((t) => t.offset <= offset);
      return token?.type;
    };
    expect(at('sum')).toBe('keyword.promql');
    expect(at('by')).toBe('keyword.promql');
    expect(at('rate')).toBe('predefined.promql');
    expect(at('vector')).toBe('predefined.promql');
    expect(at('up')).toBe('identifier.promql');
    expect(at('job', 20)).toBe('tag.promql');
    expect(at('=~')).toBe('operator.promql');
    expect(at('a.*')).toBe('string.promql');
    expect(at('5m')).toBe('number.promql');
    expect(at('1h')).toBe('number.promql');
    expect(at('offset')).toBe('keyword.promql');
    expect(at('>')).toBe('operator.promql');
    expect(at('0.5')).toBe('number.promql');
    expect(at('and')).toBe('operator.promql');
    expect(at('# note')).toBe('comment.promql');
  });
});
