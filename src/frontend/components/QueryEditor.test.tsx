import { CoreApp, DataQueryError, LoadingState, PanelData, getDefaultTimeRange } from '@grafana/data';
import { act, fireEvent, render, screen, waitFor } from '@testing-library/react';
import React, { useState } from 'react';
import { describe, expect, it, vi } from 'vitest';

import { CATALOG, makeDatasource } from '../test/fixtures';
import { VllmQuery } from '../types';
import { QueryEditor, releaseHistory } from './QueryEditor';

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

  // The removed counter is passed over for the example.
  it("takes the expression's example from the catalog and shows each metric's release history", async () => {
    const { getResource } = renderEditor();
    await waitFor(() => expect(getResource).toHaveBeenCalledWith('catalog'));
    await waitFor(() => expect(exprField().getAttribute('placeholder')).toContain(CATALOG[0].promql));
    fireEvent.keyDown(screen.getByLabelText('vLLM metric'), { key: 'ArrowDown' });
    await screen.findByText('vllm:generation_tokens_total');
    expect(releaseHistory(CATALOG[1])).toBe('vLLM 0.6.0+, deprecated in 0.9.0, removed in 0.11.0 (use vllm:generation_tokens)');
    expect(releaseHistory(CATALOG[0])).toBe('vLLM 0.6.0+');
  });

  it("switches between code and builder, building from the plugin's names", async () => {
    const { last, onRunQuery, getResource } = renderEditor({ expr: 'vllm:num_requests_running{model_name="Qwen/Qwen2.5-7B"}' });
    await waitFor(() => expect(getResource).toHaveBeenCalledWith('catalog'));
    fireEvent.click(screen.getByLabelText('Builder'));
    expect(last().editorMode).toBe('builder');
    expect(await screen.findByText('vllm:num_requests_running')).toBeTruthy();
    await waitFor(() => expect(getResource).toHaveBeenCalledWith('labels', { 'match[]': 'vllm:num_requests_running' }));
    expect(screen.queryByLabelText('PromQL expression')).toBeNull();

    fireEvent.keyDown(screen.getByLabelText('Aggregation'), { key: 'ArrowDown' });
    fireEvent.click(await screen.findByText('sum'));
    expect(last().expr).toBe('sum (vllm:num_requests_running{model_name="Qwen/Qwen2.5-7B"})');
    expect(onRunQuery).toHaveBeenCalled();

    fireEvent.click(screen.getByLabelText('Code'));
    expect(last().editorMode).toBe('code');
    expect(exprField().value).toBe('sum (vllm:num_requests_running{model_name="Qwen/Qwen2.5-7B"})');

    // What the builder cannot show stays in code, saying so.
    typeExpr('histogram_quantile(0.9, sum by (le) (rate(x_bucket[5m])))');
    fireEvent.click(screen.getByLabelText('Builder'));
    expect(screen.getByText(/cannot be shown in the builder/)).toBeTruthy();
    expect(last().editorMode).toBe('code');
    expect(exprField()).toBeTruthy();
  });

  it('shows catalog picks in the builder when in builder mode', async () => {
    const { last, getResource } = renderEditor({ expr: 'up', editorMode: 'builder' });
    await waitFor(() => expect(getResource).toHaveBeenCalledWith('catalog'));
    expect(screen.getByTestId('query-builder')).toBeTruthy();
    const picker = screen.getByLabelText('vLLM metric');
    fireEvent.keyDown(picker, { key: 'ArrowDown' });
    fireEvent.click(await screen.findByText('vllm:num_requests_running'));
    // The catalog's query is a plain aggregation: the builder shows it.
    expect(last()).toMatchObject({ expr: CATALOG[0].promql, editorMode: 'builder' });
    expect(screen.getByTestId('query-builder')).toBeTruthy();
    fireEvent.keyDown(picker, { key: 'ArrowDown' });
    fireEvent.click(await screen.findByText('vllm:generation_tokens_total'));
    expect(last()).toMatchObject({ expr: CATALOG[1].promql, editorMode: 'builder' });
  });

  it('opens a saved builder query the builder cannot show in code, and keeps it there', async () => {
    const { last, getResource } = renderEditor({ expr: 'histogram_quantile(0.9, x)', editorMode: 'builder' });
    await waitFor(() => expect(getResource).toHaveBeenCalledWith('catalog'));
    expect(last()).toMatchObject({ expr: 'histogram_quantile(0.9, x)', editorMode: 'code' });
    expect(screen.getByText(/cannot be shown in the builder/)).toBeTruthy();
    // Typing something the builder could show does not pull the query out of code.
    typeExpr('up');
    expect(exprField().value).toBe('up');
    expect(screen.queryByTestId('query-builder')).toBeNull();
  });

  it("composes a selector in the metrics browser from the plugin's names", async () => {
    const { last, onRunQuery, getResource } = renderEditor();
    fireEvent.click(screen.getByRole('button', { name: 'Metrics browser' }));
    fireEvent.change(await screen.findByLabelText('Filter metrics'), { target: { value: 'running' } });
    fireEvent.click(await screen.findByRole('button', { name: 'vllm:num_requests_running' }));
    expect(screen.queryByRole('button', { name: 'up' })).toBeNull();
    fireEvent.click(await screen.findByRole('button', { name: 'model_name' }));
    await waitFor(() =>
      expect(getResource).toHaveBeenCalledWith('label-values', { label: 'model_name', 'match[]': 'vllm:num_requests_running' })
    );
    fireEvent.click(await screen.findByRole('button', { name: 'Qwen/Qwen2.5-7B' }));
    fireEvent.click(screen.getByRole('button', { name: 'meta-llama/Llama-3.1-8B' }));
    fireEvent.click(screen.getByRole('button', { name: 'Use query' }));
    expect(last().expr).toBe('vllm:num_requests_running{model_name=~"Qwen/Qwen2[.]5-7B|meta-llama/Llama-3[.]1-8B"}');
    expect(onRunQuery).toHaveBeenCalled();
    expect(screen.queryByTestId('metrics-browser')).toBeNull();
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
