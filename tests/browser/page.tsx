// The browser suite's test page: mounts the plugin's editors (from the same
// module Grafana loads) with @grafana/ui's dark theme, and gives
// @grafana/runtime the one service they use, a BackendSrv that sends
// requests to the bridge in tests/browser.rs, which passes them to the real
// plugin backend over gRPC. Nothing here answers for the plugin.
import {
  CoreApp,
  createTheme,
  DataQueryRequest,
  DataQueryResponse,
  DataSourceInstanceSettings,
  DataSourcePluginMeta,
  DataSourceSettings,
  dateTime,
  FieldType,
  getFieldDisplayName,
  LoadingState,
  PanelData,
  PluginType,
  ThemeContext,
} from '@grafana/data';
import { BackendSrv, BackendSrvRequest, FetchResponse, setBackendSrv, setTemplateSrv, TemplateSrv } from '@grafana/runtime';
import { Alert, Button, GlobalStyles } from '@grafana/ui';
import React, { useEffect, useRef, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { from, lastValueFrom, Observable } from 'rxjs';

import pluginJson from '../../plugin.json';
import { VllmDataSource } from '../../src/frontend/datasource';
import { plugin } from '../../src/frontend/module';
import { DEFAULT_QUERY, VllmOptions, VllmQuery, VllmSecureJsonData } from '../../src/frontend/types';

type Settings = DataSourceSettings<VllmOptions, VllmSecureJsonData>;

const UID = new URLSearchParams(window.location.search).get('uid') ?? 'vllm-browser';
const EDITOR = new URLSearchParams(window.location.search).get('editor') ?? 'config';

// Grafana's public path: where @grafana/ui looks for its icons (the page build
// copies them to /) and CodeEditor loads Monaco from (lib/monaco/min/vs).
(window as unknown as { __grafana_public_path__: string }).__grafana_public_path__ = '/';

/** A fetch as Grafana's BackendSrv does it: JSON in and out, non-2xx rejected with `{status, data}`. */
async function send<T>(options: BackendSrvRequest): Promise<FetchResponse<T>> {
  let url = options.url;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(options.params ?? {})) {
    for (const v of Array.isArray(value) ? value : [value]) {
      if (v !== undefined && v !== null) {
        params.append(key, String(v));
      }
    }
  }
  if (params.toString() !== '') {
    url += (url.includes('?') ? '&' : '?') + params.toString();
  }
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  let body: BodyInit | undefined;
  if (options.data !== undefined) {
    if (typeof options.data === 'string' || options.data instanceof URLSearchParams) {
      body = options.data;
    } else {
      body = JSON.stringify(options.data);
      headers['Content-Type'] = headers['Content-Type'] ?? 'application/json';
    }
  }
  const res = await fetch(url, { method: options.method ?? 'GET', headers, body });
  const text = await res.text();
  let data: unknown = text;
  try {
    data = text === '' ? undefined : JSON.parse(text);
  } catch {
    // Not JSON: keep the text.
  }
  if (!res.ok) {
    throw { status: res.status, statusText: res.statusText, data, config: options };
  }
  return {
    data: data as T,
    status: res.status,
    statusText: res.statusText,
    ok: res.ok,
    headers: res.headers,
    redirected: res.redirected,
    type: res.type,
    url: res.url,
    config: options,
  };
}

const backendSrv = {
  fetch: <T,>(options: BackendSrvRequest): Observable<FetchResponse<T>> => from(send<T>(options)),
  datasourceRequest: <T,>(options: BackendSrvRequest) => send<T>(options),
  request: async <T,>(options: BackendSrvRequest) => (await send<T>(options)).data,
  get: async <T,>(url: string, params?: BackendSrvRequest['params']) => (await send<T>({ url, params })).data,
  post: async <T,>(url: string, data?: unknown) => (await send<T>({ url, method: 'POST', data })).data,
  put: async <T,>(url: string, data?: unknown) => (await send<T>({ url, method: 'PUT', data })).data,
  delete: async <T,>(url: string) => (await send<T>({ url, method: 'DELETE' })).data,
};
setBackendSrv(backendSrv as unknown as BackendSrv);

// The page defines no dashboard variables: text passes through unchanged.
const templateSrv = {
  getVariables: () => [],
  replace: (target?: string) => target ?? '',
  containsTemplate: () => false,
  updateTimeRange: () => undefined,
};
setTemplateSrv(templateSrv as unknown as TemplateSrv);

const meta = {
  ...pluginJson,
  type: PluginType.datasource,
  module: 'public/plugins/vllm-grafana-datasource/module.js',
  baseUrl: 'public/plugins/vllm-grafana-datasource',
} as unknown as DataSourcePluginMeta<VllmOptions>;

function instanceSettings(s: Settings): DataSourceInstanceSettings<VllmOptions> {
  return {
    id: s.id,
    uid: s.uid,
    type: s.type,
    name: s.name,
    meta,
    url: s.url,
    jsonData: s.jsonData,
    access: 'proxy',
    readOnly: false,
  };
}

async function loadSettings(): Promise<Settings> {
  return backendSrv.get<Settings>(`/api/datasources/uid/${UID}`);
}

interface Health {
  status: 'success' | 'error';
  message: string;
}

function ConfigPage({ initial }: { initial: Settings }) {
  const Editor = plugin.components.ConfigEditor!;
  const [options, setOptions] = useState<Settings>(initial);
  const [health, setHealth] = useState<Health | undefined>();
  const [testing, setTesting] = useState(false);

  // As Grafana's datasource page: save the settings, then run the health check.
  const saveAndTest = async () => {
    setTesting(true);
    setHealth(undefined);
    try {
      const saved = await backendSrv.put<{ datasource: Settings }>(`/api/datasources/uid/${UID}`, options);
      setOptions({ ...saved.datasource, secureJsonData: {} });
      const ds = new VllmDataSource(instanceSettings(saved.datasource));
      const result = await ds.testDatasource();
      setHealth({ status: 'success', message: String(result.message) });
    } catch (e) {
      const err = e as { message?: string; data?: { message?: string } };
      setHealth({ status: 'error', message: err.message ?? err.data?.message ?? String(e) });
    } finally {
      setTesting(false);
    }
  };

  return (
    <div className="page" data-testid="config-page">
      <Editor options={options} onOptionsChange={setOptions} />
      <div className="actions">
        <Button onClick={saveAndTest} disabled={testing}>
          Save &amp; test
        </Button>
      </div>
      {health && (
        <div data-testid="health" data-status={health.status}>
          <Alert severity={health.status} title={health.message} />
        </div>
      )}
    </div>
  );
}

function seriesNames(data?: PanelData): string[] {
  const frames = data?.series ?? [];
  return frames.flatMap((frame) =>
    frame.fields.filter((f) => f.type === FieldType.number).map((f) => getFieldDisplayName(f, frame, frames))
  );
}

function QueryPage({ initial }: { initial: Settings }) {
  const Editor = plugin.components.QueryEditor!;
  const [ds] = useState(() => new VllmDataSource(instanceSettings(initial)));
  const [query, setQuery] = useState<VllmQuery>({ ...DEFAULT_QUERY, refId: 'A' } as VllmQuery);
  const [data, setData] = useState<PanelData | undefined>();
  // The editor calls onChange then onRunQuery in one go, as Grafana's query
  // rows allow: the run takes the latest query.
  const latest = useRef(query);
  const runs = useRef(0);

  const onChange = (q: VllmQuery) => {
    latest.current = q;
    setQuery(q);
  };

  const run = async () => {
    const q = latest.current;
    if (!ds.filterQuery(q)) {
      return;
    }
    const id = ++runs.current;
    const to = dateTime();
    const range = { from: dateTime(to).subtract(5, 'minutes'), to, raw: { from: 'now-5m', to: 'now' } };
    const request: DataQueryRequest<VllmQuery> = {
      app: CoreApp.PanelEditor,
      requestId: `Q${id}`,
      interval: '1s',
      intervalMs: 1000,
      maxDataPoints: 300,
      range,
      scopedVars: {},
      targets: [q],
      timezone: 'browser',
      startTime: Date.now(),
    };
    setData((d) => (d ? { ...d, state: LoadingState.Loading } : d));
    const resp: DataQueryResponse = await lastValueFrom(ds.query(request) as Observable<DataQueryResponse>);
    if (id !== runs.current) {
      return;
    }
    const errors = resp.errors ?? (resp.error ? [resp.error] : []);
    setData({
      state: errors.length > 0 ? LoadingState.Error : LoadingState.Done,
      series: resp.data,
      errors,
      timeRange: range,
    });
  };

  const names = seriesNames(data);
  return (
    <div className="page" data-testid="query-page">
      <Editor datasource={ds} query={query} onChange={onChange} onRunQuery={() => void run()} data={data} app={CoreApp.PanelEditor} />
      <div className="results" data-testid="results" data-state={data?.state ?? 'NotStarted'}>
        <h4>Series ({names.length})</h4>
        <ul aria-label="Series">
          {names.map((name, i) => (
            <li key={i}>{name}</li>
          ))}
        </ul>
      </div>
    </div>
  );
}

/** As Grafana's variable editor: the query editor, then a preview of the values it gives. */
function VariablesPage({ initial }: { initial: Settings }) {
  const Editor = plugin.components.VariableQueryEditor as React.ComponentType<{
    datasource: VllmDataSource;
    query: string;
    onChange: (query: string, definition: string) => void;
  }>;
  const [ds] = useState(() => new VllmDataSource(instanceSettings(initial)));
  const [query, setQuery] = useState('');
  const [preview, setPreview] = useState<{ values: string[]; error?: string } | undefined>();
  const runs = useRef(0);

  useEffect(() => {
    if (query === '') {
      return;
    }
    const id = ++runs.current;
    ds.metricFindQuery(query).then(
      (found) => id === runs.current && setPreview({ values: found.map((v) => String(v.text)) }),
      (e: unknown) => id === runs.current && setPreview({ values: [], error: (e as Error).message ?? String(e) })
    );
  }, [ds, query]);

  return (
    <div className="page" data-testid="variables-page">
      <Editor datasource={ds} query={query} onChange={(q) => setQuery(q)} />
      <div className="results" data-testid="preview" data-query={query}>
        <h4>Preview of values ({preview?.values.length ?? 0})</h4>
        {preview?.error && <Alert title={preview.error} />}
        <ul aria-label="Preview of values">
          {(preview?.values ?? []).map((v) => (
            <li key={v}>{v}</li>
          ))}
        </ul>
      </div>
    </div>
  );
}

function App() {
  const [settings, setSettings] = useState<Settings | undefined>();
  const [failure, setFailure] = useState<string | undefined>();
  useEffect(() => {
    loadSettings().then(setSettings, (e: unknown) => setFailure(String((e as { status?: number }).status ?? e)));
  }, []);
  if (failure) {
    return <Alert title={`Cannot load the datasource settings: ${failure}`} />;
  }
  if (!settings) {
    return null;
  }
  switch (EDITOR) {
    case 'query':
      return <QueryPage initial={settings} />;
    case 'variables':
      return <VariablesPage initial={settings} />;
    default:
      return <ConfigPage initial={settings} />;
  }
}

const theme = createTheme({ colors: { mode: 'dark' } });
const style = document.createElement('style');
// Grafana's own stylesheet (not part of @grafana/ui) sizes every box by its border.
style.textContent = `html { box-sizing: border-box; } *, *::before, *::after { box-sizing: inherit; }
fieldset { min-width: 0; margin: 0; padding: 0; border: 0; }
.page { padding: 16px 24px; max-width: 1100px; } .actions { margin: 16px 0; } .results { margin-top: 16px; }`;
document.head.appendChild(style);

createRoot(document.getElementById('root')!).render(
  <ThemeContext.Provider value={theme}>
    <GlobalStyles />
    <App />
  </ThemeContext.Provider>
);
