import { css } from '@emotion/css';
import { GrafanaTheme2 } from '@grafana/data';
import { TextArea, useStyles2 } from '@grafana/ui';
import React, { useCallback, useLayoutEffect, useRef, useState } from 'react';

import { applySuggestion, CompletionContext, completionContext, rankSuggestions } from '../completion';
import { errorMessage } from '../datasource';

/** The resource calls completion needs (implemented by the datasource). */
export interface CompletionSource {
  metricNames(): Promise<string[]>;
  labelNames(match?: string): Promise<string[]>;
  labelValues(label: string, match?: string): Promise<string[]>;
}

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

async function candidates(source: CompletionSource, ctx: CompletionContext): Promise<string[]> {
  switch (ctx.kind) {
    case 'metric':
      return source.metricNames();
    case 'label':
      return ctx.metric ? source.labelNames(ctx.metric) : source.labelNames();
    case 'label-value':
      return source.labelValues(ctx.label, ctx.metric);
  }
}

/**
 * A PromQL text field with completion of metric names, label names and label
 * values. Ctrl+Space opens the list; arrows, Enter or Tab and Escape drive it.
 */
export function PromQLField({ value, source, onChange, onRunQuery, placeholder }: Props) {
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
