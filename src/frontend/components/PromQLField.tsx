import { css } from '@emotion/css';
import { GrafanaTheme2 } from '@grafana/data';
import type { Monaco, monacoTypes } from '@grafana/ui';
import { CodeEditor, TextArea, useStyles2 } from '@grafana/ui';
import React, { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react';

import {
  applySuggestion,
  candidates,
  codeSuggestions,
  CompletionContext,
  completionContext,
  CompletionSource,
  rankSuggestions,
  SuggestionKind,
} from '../completion';
import { errorMessage } from '../datasource';
import { AGGREGATIONS, FUNCTIONS, PROMQL_LANGUAGE, registerPromQL } from '../promql';

export type { CompletionSource };

interface Props {
  value: string;
  source: CompletionSource;
  onChange: (expr: string) => void;
  /** Called on blur and on Shift+Enter. */
  onRunQuery: () => void;
  placeholder?: string;
}

interface Open {
  ctx: CompletionContext;
  items: string[];
  active: number;
}

/**
 * Monaco needs a laid-out page; jsdom (the unit tests) has none, so there the
 * field is the plain text area below, with the same completion logic.
 */
const MONACO = typeof navigator === 'undefined' || !/jsdom/i.test(navigator.userAgent);

/**
 * The PromQL field of the query editor's code mode: @grafana/ui's CodeEditor
 * (Monaco, which Grafana serves) with PromQL highlighting and completion of
 * the plugin's metric names, label names and label values, and of PromQL's
 * functions. Shift+Enter and leaving the field run the query.
 */
export function PromQLField(props: Props) {
  return MONACO ? <MonacoPromQLField {...props} /> : <PlainPromQLField {...props} />;
}

/** Function and aggregation names, completed where a metric name may go. */
const PROMQL_WORDS = [...AGGREGATIONS, ...FUNCTIONS].sort();

const LINE_HEIGHT = 20;
const MAX_LINES = 10;

function itemKind(monaco: Monaco, kind: SuggestionKind): monacoTypes.languages.CompletionItemKind {
  const k = monaco.languages.CompletionItemKind;
  switch (kind) {
    case 'metric':
      return k.Constructor;
    case 'label':
      return k.Enum;
    case 'label-value':
      return k.EnumMember;
    case 'function':
      return k.Function;
  }
}

const DETAIL: Record<SuggestionKind, string> = {
  metric: 'metric',
  label: 'label',
  'label-value': 'label value',
  function: 'PromQL',
};

function MonacoPromQLField({ value, source, onChange, onRunQuery, placeholder }: Props) {
  const styles = useStyles2(getStyles);
  const [height, setHeight] = useState(() => Math.min(MAX_LINES, Math.max(1, value.split('\n').length)) * LINE_HEIGHT + 8);
  const [completionError, setCompletionError] = useState<string | undefined>();
  // CodeEditor keeps the callbacks it mounted with: read the current ones.
  const latest = useRef({ source, onChange, onRunQuery });
  latest.current = { source, onChange, onRunQuery };
  const disposables = useRef<monacoTypes.IDisposable[]>([]);

  useEffect(
    () => () => {
      disposables.current.forEach((d) => d.dispose());
      disposables.current = [];
    },
    []
  );

  const onEditorDidMount = useCallback((editor: monacoTypes.editor.IStandaloneCodeEditor, monaco: Monaco) => {
    const model = editor.getModel();
    if (!model) {
      return;
    }
    const provider = monaco.languages.registerCompletionItemProvider(PROMQL_LANGUAGE, {
      triggerCharacters: ['{', ',', '"', "'", '`', '(', ' '],
      provideCompletionItems: async (m, position, context) => {
        // The provider is per language: answer for this field's model only.
        if (m.id !== model.id) {
          return undefined;
        }
        const text = m.getValue();
        const cursor = m.getOffsetAt(position);
        const explicit = context.triggerKind === monaco.languages.CompletionTriggerKind.Invoke;
        let found;
        try {
          found = await codeSuggestions(latest.current.source, text, cursor, explicit, PROMQL_WORDS);
          setCompletionError(undefined);
        } catch (e) {
          setCompletionError(`Completion unavailable: ${errorMessage(e)}`);
          return { suggestions: [] };
        }
        const width = String(found.length).length;
        return {
          // Asked again as the word grows, so the plugin's ranking holds.
          incomplete: true,
          suggestions: found.map((s) => {
            const typed = text.slice(s.start, cursor);
            return {
              label: s.label,
              kind: itemKind(monaco, s.kind),
              detail: DETAIL[s.kind],
              insertText: s.insert,
              // Keep names that contain (not start with) the typed text.
              filterText: s.label.toLowerCase().startsWith(typed.toLowerCase()) ? s.label : typed + s.label,
              sortText: String(s.rank).padStart(width, '0'),
              range: monaco.Range.fromPositions(m.getPositionAt(s.start), m.getPositionAt(s.end)),
            };
          }),
        };
      },
    });
    const run = editor.addAction({
      id: 'vllm.promql.run',
      label: 'Run query',
      keybindings: [monaco.KeyMod.Shift | monaco.KeyCode.Enter],
      precondition: '!suggestWidgetVisible',
      run: () => {
        latest.current.onChange(editor.getValue());
        latest.current.onRunQuery();
      },
    });
    const grow = editor.onDidContentSizeChange((e) => {
      if (e.contentHeightChanged) {
        setHeight(Math.min(MAX_LINES * LINE_HEIGHT + 8, e.contentHeight));
      }
    });
    disposables.current.push(provider, run, grow);
  }, []);

  return (
    <div className={styles.wrapper} data-testid="promql-editor">
      <CodeEditor
        value={value}
        language={PROMQL_LANGUAGE}
        height={height}
        showLineNumbers={false}
        showMiniMap={false}
        containerStyles={styles.editor}
        onBeforeEditorMount={registerPromQL}
        onEditorDidMount={onEditorDidMount}
        onChange={(v) => latest.current.onChange(v)}
        onBlur={(v) => {
          latest.current.onChange(v);
          latest.current.onRunQuery();
        }}
        monacoOptions={{
          ariaLabel: 'PromQL expression',
          fontSize: 14,
          lineHeight: LINE_HEIGHT,
          wordWrap: 'on',
          scrollBeyondLastLine: false,
          renderLineHighlight: 'none',
          overviewRulerLanes: 0,
          hideCursorInOverviewRuler: true,
          folding: false,
          glyphMargin: false,
          lineDecorationsWidth: 8,
          scrollbar: { vertical: 'auto', horizontal: 'hidden', alwaysConsumeMouseWheel: false },
          quickSuggestions: { other: true, comments: false, strings: true },
          wordBasedSuggestions: false,
          suggest: { showWords: false, showIcons: true },
          suggestFontSize: 13,
        }}
      />
      {value === '' && placeholder && <div className={styles.placeholder}>{placeholder}</div>}
      {completionError && <div className={styles.hint}>{completionError}</div>}
    </div>
  );
}

/**
 * A PromQL text area with completion of metric names, label names and label
 * values. Ctrl+Space opens the list; arrows, Enter or Tab and Escape drive it.
 */
export function PlainPromQLField({ value, source, onChange, onRunQuery, placeholder }: Props) {
  const styles = useStyles2(getStyles);
  const ref = useRef<HTMLTextAreaElement>(null);
  const [open, setOpen] = useState<Open | undefined>();
  const [completionError, setCompletionError] = useState<string | undefined>();
  const pendingCursor = useRef<number | undefined>();
  // Numbers completion requests: a slow answer for an older keystroke must
  // not overwrite a newer one.
  const request = useRef(0);

  useLayoutEffect(() => {
    if (pendingCursor.current !== undefined && ref.current) {
      ref.current.setSelectionRange(pendingCursor.current, pendingCursor.current);
      pendingCursor.current = undefined;
    }
  });

  const suggest = useCallback(
    async (text: string, cursor: number, explicit: boolean) => {
      const id = ++request.current;
      const ctx = completionContext(text, cursor);
      if (!ctx || (ctx.kind === 'metric' && ctx.prefix === '' && !explicit)) {
        setOpen(undefined);
        return;
      }
      try {
        const all = await candidates(source, ctx);
        if (id !== request.current) {
          return;
        }
        setCompletionError(undefined);
        const items = rankSuggestions(all, ctx.prefix);
        setOpen(items.length > 0 ? { ctx, items, active: 0 } : undefined);
      } catch (e) {
        if (id === request.current) {
          setOpen(undefined);
          setCompletionError(`Completion unavailable: ${errorMessage(e)}`);
        }
      }
    },
    [source]
  );

  const accept = (item: string) => {
    const el = ref.current;
    if (!open || !el) {
      return;
    }
    const next = applySuggestion(value, el.selectionStart ?? value.length, open.ctx, item);
    pendingCursor.current = next.cursor;
    request.current += 1;
    setOpen(undefined);
    onChange(next.text);
  };

  const onKeyDown = (e: React.KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === ' ' && e.ctrlKey) {
      e.preventDefault();
      const el = e.currentTarget;
      void suggest(el.value, el.selectionStart ?? el.value.length, true);
      return;
    }
    if (open) {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        const step = e.key === 'ArrowDown' ? 1 : -1;
        setOpen({ ...open, active: (open.active + step + open.items.length) % open.items.length });
        return;
      }
      if (e.key === 'Enter' || e.key === 'Tab') {
        e.preventDefault();
        accept(open.items[open.active]);
        return;
      }
      if (e.key === 'Escape') {
        e.preventDefault();
        setOpen(undefined);
        return;
      }
    }
    if (e.key === 'Enter' && e.shiftKey) {
      e.preventDefault();
      onRunQuery();
    }
  };

  return (
    <div className={styles.wrapper}>
      <TextArea
        ref={ref}
        aria-label="PromQL expression"
        className={styles.input}
        value={value}
        rows={Math.min(10, Math.max(2, value.split('\n').length))}
        placeholder={placeholder}
        spellCheck={false}
        autoComplete="off"
        onChange={(e: React.ChangeEvent<HTMLTextAreaElement>) => {
          const el = e.currentTarget;
          onChange(el.value);
          void suggest(el.value, el.selectionStart ?? el.value.length, false);
        }}
        onKeyDown={onKeyDown}
        onBlur={() => {
          // Let a click on a suggestion land before the list closes.
          setTimeout(() => setOpen(undefined), 150);
          onRunQuery();
        }}
      />
      {open && (
        <ul className={styles.list} role="listbox" aria-label="Suggestions">
          {open.items.map((item, i) => (
            <li
              key={item}
              role="option"
              aria-selected={i === open.active}
              className={i === open.active ? styles.active : styles.item}
              onMouseDown={(e) => {
                e.preventDefault();
                accept(item);
              }}
            >
              {item}
            </li>
          ))}
        </ul>
      )}
      {completionError && <div className={styles.hint}>{completionError}</div>}
    </div>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  wrapper: css({ position: 'relative', width: '100%' }),
  editor: css({
    width: '100%',
    borderRadius: theme.shape.radius.default,
    border: `1px solid ${theme.components.input.borderColor}`,
    '&:focus-within': { outline: `2px solid ${theme.colors.primary.main}`, outlineOffset: 1 },
  }),
  placeholder: css({
    position: 'absolute',
    top: 5,
    left: 9,
    pointerEvents: 'none',
    color: theme.colors.text.disabled,
    fontFamily: theme.typography.fontFamilyMonospace,
    fontSize: 14,
    whiteSpace: 'nowrap',
    overflow: 'hidden',
    textOverflow: 'ellipsis',
    maxWidth: 'calc(100% - 16px)',
  }),
  input: css({ fontFamily: theme.typography.fontFamilyMonospace, fontSize: theme.typography.bodySmall.fontSize }),
  list: css({
    position: 'absolute',
    zIndex: theme.zIndex.typeahead,
    listStyle: 'none',
    margin: 0,
    padding: theme.spacing(0.5, 0),
    maxHeight: 240,
    minWidth: 280,
    overflowY: 'auto',
    background: theme.colors.background.primary,
    border: `1px solid ${theme.colors.border.medium}`,
    boxShadow: theme.shadows.z3,
    fontFamily: theme.typography.fontFamilyMonospace,
    fontSize: theme.typography.bodySmall.fontSize,
  }),
  item: css({ padding: theme.spacing(0.25, 1), cursor: 'pointer' }),
  active: css({ padding: theme.spacing(0.25, 1), cursor: 'pointer', background: theme.colors.action.selected }),
  hint: css({ color: theme.colors.text.secondary, fontSize: theme.typography.bodySmall.fontSize }),
});
