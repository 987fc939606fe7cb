import { CoreApp, DataQueryError, LoadingState, PanelData, getDefaultTimeRange } from '@grafana/data';
import { act, fireEvent, render, screen, waitFor } from '@testing-library/react';
import React, { useState } from 'react';
import { describe, expect, it, vi } from 'vitest';

import { CATALOG, makeDatasource } from '../test/fixtures';
import { VllmQuery } from '../types';
import { QueryEditor } from './QueryEditor';

function renderEditor(initial: Partial<VllmQuery> = {}, data?: PanelData) {
  const { ds, getResource } = makeDatasource();
  const onChange = vi.fn();
  const onRunQuery = vi.fn();
  function Host() {
    const [query, setQuery] = useState<VllmQuery>({ refId: 'A', expr: '', ...initial });
    return (
      <QueryEditor
        datasource={ds}
        query={query}
        data={data}
        app={CoreApp.PanelEditor}
        onRunQuery={onRunQuery}
        onChange={(q) => {
          onChange(q);
          setQuery(q);
        }}
      />
    );
  }
  render(<Host />);
  const last = (): VllmQuery => onChange.mock.calls[onChange.mock.calls.length - 1][0];
  return { ds, getResource, onChange, onRunQuery, last };
}

function exprField(): HTMLTextAreaElement {
  return screen.getByLabelText('PromQL expression') as HTMLTextAreaElement;
}

/** Types `text` as the whole content, with the cursor at `cursor` (default: end). */
function typeExpr(text: string, cursor = text.length) {
  const el = exprField();
  act(() => {
    el.focus();
  });
  fireEvent.change(el, { target: { value: text, selectionStart: cursor, selectionEnd: cursor } });
}

describe('QueryEditor', () => {
  it('edits expr, legend, min step, type and format into a Prometheus-style query', async () => {
    const { last, onRunQuery } = renderEditor({ expr: '' });
    await waitFor(() => expect(screen.getByText('Choose a vLLM metric')).toBeTruthy());
    typeExpr('sum(vllm:num_requests_running)');
    expect(last()).toEqual({ refId: 'A', expr: 'sum(vllm:num_requests_running)' });

    fireEvent.change(screen.getByLabelText('Legend format'), { target: { value: '{{model_name}}' } });
    fireEvent.change(screen.getByLabelText('Min step'), { target: { value: '30s' } });
    fireEvent.click(screen.getByLabelText('Instant'));
    expect(onRunQuery).toHaveBeenCalled();
    fireEvent.click(screen.getByLabelText('Table'));
    expect(last()).toEqual({
      refId: 'A',
      expr: 'sum(vllm:num_requests_running)',
      legendFormat: '{{model_name}}',
      interval: '30s',
      instant: true,
      range: false,
      format: 'table',
    });
    fireEvent.click(screen.getByLabelText('Both'));
    expect(last()).toMatchObject({ instant: true, range: true });
    fireEvent.click(screen.getByLabelText('Range'));
    expect(last()).toMatchObject({ instant: false, range: true });
  });

  it('turns live streaming on and off', async () => {
    const { last, onRunQuery } = renderEditor({ expr: 'sum(vllm:num_requests_waiting)' });
    await waitFor(() => expect(screen.getByText('Choose a vLLM metric')).toBeTruthy());
    const toggle = screen.getByLabelText('Live') as HTMLInputElement;
    expect(toggle.checked).toBe(false);
    fireEvent.click(toggle);
    expect(last()).toEqual({ refId: 'A', expr: 'sum(vllm:num_requests_waiting)', live: true });
    expect(onRunQuery).toHaveBeenCalledTimes(1);
    expect((screen.getByLabelText('Live') as HTMLInputElement).checked).toBe(true);
    fireEvent.click(screen.getByLabelText('Live'));
    expect(last().live).toBeUndefined();
    expect(JSON.parse(JSON.stringify(last()))).toEqual({ refId: 'A', expr: 'sum(vllm:num_requests_waiting)' });
    expect(onRunQuery).toHaveBeenCalledTimes(2);
  });

  it('fills expr from the vLLM metric catalog', async () => {
    const { last, onRunQuery, getResource } = renderEditor();
    const picker = screen.getByLabelText('vLLM metric');
    await waitFor(() => expect(getResource).toHaveBeenCalledWith('catalog'));
    fireEvent.keyDown(picker, { key: 'ArrowDown' });
    fireEvent.click(await screen.findByText('vllm:generation_tokens_total'));
    expect(last().expr).toBe(CATALOG[1].promql);
    expect(last().legendFormat).toBeUndefined();
    expect(onRunQuery).toHaveBeenCalled();

    // The suggested legend is taken when the query has none.
    fireEvent.keyDown(picker, { key: 'ArrowDown' });
    fireEvent.click(await screen.findByText('vllm:num_requests_running'));
    expect(last()).toMatchObject({ expr: CATALOG[0].promql, legendFormat: '{{model_name}}' });
  });

  it('completes metric names from the metric-names resource', async () => {
    const { last, getResource } = renderEditor();
    typeExpr('rate(vllm:num_req');
    const options = await screen.findAllByRole('option');
    expect(getResource).toHaveBeenCalledWith('metric-names');
    expect(options.map((o) => o.textContent)).toEqual(['vllm:num_requests_running', 'vllm:num_requests_waiting']);
    fireEvent.keyDown(exprField(), { key: 'ArrowDown' });
    fireEvent.keyDown(exprField(), { key: 'Enter' });
    expect(last().expr).toBe('rate(vllm:num_requests_waiting');
    expect(screen.queryByRole('listbox')).toBeNull();
  });

  it('completes label names and label values for the metric being filtered', async () => {
    const { last, getResource } = renderEditor();
    typeExpr('vllm:num_requests_running{mod');
    await screen.findByRole('option', { name: 'model_name' });
    expect(getResource).toHaveBeenLastCalledWith('labels', { 'match[]': 'vllm:num_requests_running' });
    fireEvent.mouseDown(screen.getByRole('option', { name: 'model_name' }));
    expect(last().expr).toBe('vllm:num_requests_running{model_name');

    typeExpr('vllm:num_requests_running{model_name="Q');
    const option = await screen.findByRole('option', { name: 'Qwen/Qwen2.5-7B' });
    expect(getResource).toHaveBeenLastCalledWith('label-values', {
      label: 'model_name',
      'match[]': 'vllm:num_requests_running',
    });
    fireEvent.mouseDown(option);
    expect(last().expr).toBe('vllm:num_requests_running{model_name="Qwen/Qwen2.5-7B"');
  });

  it('runs the query on Shift+Enter and closes suggestions on Escape', async () => {
    const { onRunQuery } = renderEditor();
    typeExpr('vllm:');
    await screen.findByRole('listbox');
    fireEvent.keyDown(exprField(), { key: 'Escape' });
    expect(screen.queryByRole('listbox')).toBeNull();
    fireEvent.keyDown(exprField(), { key: 'Enter', shiftKey: true });
    expect(onRunQuery).toHaveBeenCalledTimes(1);
  });

  it('says when completion is unavailable', async () => {
    const { getResource } = renderEditor();
    getResource.mockRejectedValue({ status: 502, data: { error: 'backend down' }, statusText: 'Bad Gateway' });
    typeExpr('vllm:');
    expect(await screen.findByText('Completion unavailable: backend down')).toBeTruthy();
  });

  it("shows the last error reported for this query's refId", async () => {
    const errors: DataQueryError[] = [
      { refId: 'A', message: 'first error' },
      { refId: 'B', message: 'error of another query' },
      { refId: 'A', message: 'parse error: unexpected "}"' },
    ];
    const data: PanelData = { state: LoadingState.Error, series: [], errors, timeRange: getDefaultTimeRange() };
    const { getResource } = renderEditor({ expr: 'up{' }, data);
    await waitFor(() => expect(getResource).toHaveBeenCalledWith('catalog'));
    await act(async () => {});
    expect(screen.getByText('parse error: unexpected "}"')).toBeTruthy();
    expect(screen.queryByText('first error')).toBeNull();
    expect(screen.queryByText('error of another query')).toBeNull();
  });
});
