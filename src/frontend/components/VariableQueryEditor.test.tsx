import { act, fireEvent, render, screen, waitFor } from '@testing-library/react';
import React, { useState } from 'react';
import { describe, expect, it, vi } from 'vitest';

import { makeDatasource } from '../test/fixtures';
import { parseVariableQuery } from '../variables';
import { VariableQueryEditor, variableQueryText } from './VariableQueryEditor';

function renderEditor(initial: string) {
  const { ds, getResource } = makeDatasource();
  const onChange = vi.fn();
  function Host() {
    const [query, setQuery] = useState(initial);
    return (
      <VariableQueryEditor
        datasource={ds}
        query={query}
        onChange={(q, definition) => {
          onChange(q, definition);
          setQuery(q);
        }}
      />
    );
  }
  render(<Host />);
  const last = (): string => onChange.mock.calls[onChange.mock.calls.length - 1][0];
  return { onChange, last, getResource };
}

describe('VariableQueryEditor', () => {
  it('writes the text forms the datasource parses back', () => {
    for (const text of ['label_values(model_name)', 'label_values(up{job="vllm"}, instance)', 'label_names()', 'label_names(up)', 'metrics(vllm:.*)']) {
      expect(variableQueryText(parseVariableQuery(text)!)).toBe(text);
    }
  });

  it('picks a label from the plugin and switches query types, keeping the selector', async () => {
    const { last, onChange, getResource } = renderEditor('label_values(vllm:num_requests_running, instance)');
    await waitFor(() => expect(getResource).toHaveBeenCalledWith('labels'));
    await act(async () => {});
    const label = screen.getByLabelText('Label');
    fireEvent.keyDown(label, { key: 'ArrowDown' });
    fireEvent.click(await screen.findByText('model_name'));
    expect(last()).toBe('label_values(vllm:num_requests_running, model_name)');
    expect(onChange).toHaveBeenLastCalledWith(last(), last());

    fireEvent.click(screen.getByLabelText('Label names'));
    expect(last()).toBe('label_names(vllm:num_requests_running)');
    fireEvent.click(screen.getByLabelText('Metrics'));
    expect(last()).toBe('metrics()');
    const regex = screen.getByLabelText('Metric regex');
    fireEvent.change(regex, { target: { value: 'vllm:.*' } });
    fireEvent.blur(regex);
    expect(last()).toBe('metrics(vllm:.*)');
  });

  it('names an unsupported query instead of dropping it', async () => {
    const { getResource } = renderEditor('query_result(up)');
    await waitFor(() => expect(getResource).toHaveBeenCalledWith('labels'));
    await act(async () => {});
    expect(screen.getByText(/Not a supported variable query/)).toBeTruthy();
    expect((screen.getByLabelText('Unsupported query') as HTMLInputElement).value).toBe('query_result(up)');
  });
});
