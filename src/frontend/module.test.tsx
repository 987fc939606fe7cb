// Builds module.js as shipped and loads it the way Grafana does: as an AMD
// module whose dependencies are Grafana's own copies of the shared libraries.
import * as emotion from '@emotion/css';
import * as data from '@grafana/data';
import * as runtime from '@grafana/runtime';
import * as ui from '@grafana/ui';
import { render, screen } from '@testing-library/react';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import React from 'react';
import * as reactDom from 'react-dom';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { instanceSettings } from './test/fixtures';

const shared: Record<string, unknown> = {
  react: React,
  'react-dom': reactDom,
  '@grafana/data': data,
  '@grafana/ui': ui,
  '@grafana/runtime': runtime,
  '@emotion/css': emotion,
};

let outDir: string;
let text: string;
let exported: Record<string, unknown>;

beforeAll(() => {
  outDir = mkdtempSync(join(tmpdir(), 'module-build-'));
  execFileSync(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--outDir', outDir, '--logLevel', 'error'], {
    stdio: 'pipe',
  });
  text = readFileSync(join(outDir, 'module.js'), 'utf8');
  exported = {};
  const define = (deps: string[], factory: (...args: unknown[]) => void) => {
    const args = deps.map((d) => {
      if (d === 'exports') {
        return exported;
      }
      if (d === 'require') {
        return () => {
          throw new Error('module.js must not require() at run time');
        };
      }
      if (!(d in shared)) {
        throw new Error(`module.js needs "${d}", which Grafana does not provide`);
      }
      return shared[d];
    });
    factory(...args);
  };
  new Function('define', text)(define);
}, 60_000);

afterAll(() => rmSync(outDir, { recursive: true, force: true }));

describe('built module.js', () => {
  it('exports a DataSourcePlugin whose datasource extends DataSourceWithBackend', () => {
    const plugin = exported.plugin as data.DataSourcePlugin<data.DataSourceApi>;
    expect(plugin).toBeInstanceOf(data.DataSourcePlugin);
    const ds = new plugin.DataSourceClass(instanceSettings());
    expect(ds).toBeInstanceOf(runtime.DataSourceWithBackend);
    expect(plugin.components.ConfigEditor).toBeTypeOf('function');
    expect(plugin.components.QueryEditor).toBeTypeOf('function');
    expect(plugin.components.VariableQueryEditor).toBeTypeOf('function');
  });

  it('renders its config editor with the host React and @grafana/ui', () => {
    const plugin = exported.plugin as data.DataSourcePlugin<data.DataSourceApi>;
    const ConfigEditor = plugin.components.ConfigEditor as unknown as React.ComponentType<Record<string, unknown>>;
    render(
      <ConfigEditor
        options={{ jsonData: {}, secureJsonFields: {}, url: '' }}
        onOptionsChange={() => {}}
      />
    );
    expect(screen.getByPlaceholderText('http://prometheus:9090')).toBeTruthy();
    expect(screen.getByText('Authentication')).toBeTruthy();
  });

  it('contains no Angular-era names', () => {
    for (const marker of ['PanelCtrl', 'ConfigCtrl', 'editor.html', 'app/plugins/sdk']) {
      expect(text).not.toContain(marker);
    }
    expect(text).not.toMatch(/["']QueryCtrl["']/);
  });
});
