// @vitest-environment node
// Self-tests of the packaging checks, on small synthetic plugin folders.
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { checkModuleText } from './check-module.mjs';
import { checkPluginDir, checkZip } from './check-package.mjs';

const MODULE = 'define(["require","exports","react","@grafana/data"],(function(r,e,t,a){"use strict";e.plugin=new a.DataSourcePlugin(class{})}));';
const PLUGIN_JSON = {
  type: 'datasource',
  name: 'vLLM',
  id: 'vllm-grafana-datasource',
  backend: true,
  executable: 'gpx_vllm',
  metrics: true,
  info: { version: '0.1.0', logos: { small: 'img/logo.svg', large: 'img/logo.svg' } },
  dependencies: { grafanaDependency: '>=10.4.0' },
};

let root;
let dir;

function makePlugin(meta = PLUGIN_JSON) {
  mkdirSync(join(dir, 'img'), { recursive: true });
  writeFileSync(join(dir, 'plugin.json'), JSON.stringify(meta));
  writeFileSync(join(dir, 'module.js'), MODULE);
  writeFileSync(join(dir, 'img', 'logo.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  writeFileSync(join(dir, 'README.md'), '# vLLM\n');
  writeFileSync(join(dir, 'CHANGELOG.md'), '# Changelog\n');
  writeFileSync(join(dir, 'gpx_vllm_linux_amd64'), Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]));
  chmodSync(join(dir, 'gpx_vllm_linux_amd64'), 0o755);
}

function zipAs(name, folder) {
  const stage = join(root, 'stage');
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage);
  cpSync(dir, join(stage, folder), { recursive: true });
  const zip = join(root, name);
  execFileSync('zip', ['-qr', zip, folder], { cwd: stage });
  return zip;
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'pkg-test-'));
  dir = join(root, 'plugin');
  mkdirSync(dir);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('checkModuleText', () => {
  it('accepts an AMD module exporting plugin with shared dependencies', () => {
    expect(checkModuleText(MODULE)).toEqual([]);
  });
  it('rejects Angular markers, even in comments', () => {
    expect(checkModuleText(`${MODULE}\n// see editor.html`)).toEqual(['contains the Angular marker editor.html']);
    expect(checkModuleText(`${MODULE}\nvar x="QueryCtrl";`)).toEqual([
      `contains the Angular marker ${/["']QueryCtrl["']/}`,
    ]);
  });
  it('rejects other module formats and unshared dependencies', () => {
    expect(checkModuleText('import x from "react"; export const plugin = 1;')).toContain(
      'is not an AMD module: it must start with define([...], factory)'
    );
    expect(checkModuleText(MODULE.replace('"react"', '"react/jsx-runtime"'))).toContain(
      'depends on "react/jsx-runtime", which Grafana does not provide to plugins (bundle it or drop it)'
    );
  });
});

describe('checkPluginDir', () => {
  it('accepts a complete plugin folder', () => {
    makePlugin();
    const { errors, warnings } = checkPluginDir(dir);
    expect(errors).toEqual([]);
    expect(warnings.join('\n')).toMatch(/unsigned/);
  });

  it('requires the executable to be mode 0755', () => {
    makePlugin();
    chmodSync(join(dir, 'gpx_vllm_linux_amd64'), 0o644);
    expect(checkPluginDir(dir).errors).toEqual(['gpx_vllm_linux_amd64: mode is 0644, must be exactly 0755']);
  });

  it('reports missing pieces', () => {
    makePlugin({ ...PLUGIN_JSON, backend: false, info: { version: '%VERSION%', logos: { small: './img/logo.svg', large: 'img/missing.png' } } });
    rmSync(join(dir, 'README.md'));
    rmSync(join(dir, 'gpx_vllm_linux_amd64'));
    const { errors } = checkPluginDir(dir);
    expect(errors).toEqual([
      'plugin.json: backend must be true',
      'plugin.json: info.version must be a semantic version, got "%VERSION%"',
      `plugin.json: info.logos.small "./img/logo.svg" must be a path relative to plugin.json, not starting with '.' or '/'`,
      'plugin.json: info.logos.large "img/missing.png" does not exist in the package',
      'no backend binary gpx_vllm_<os>_<arch> in the package',
      'no Linux backend binary (gpx_vllm_linux_amd64 or _arm64)',
      'README.md is missing or empty',
    ]);
  });
});

describe('checkZip', () => {
  it('accepts one folder named after the plugin id', () => {
    makePlugin();
    expect(checkZip(zipAs('vllm-grafana-datasource-0.1.0.zip', 'vllm-grafana-datasource')).errors).toEqual([]);
  });

  it('keeps the executable bit through the archive', () => {
    makePlugin();
    chmodSync(join(dir, 'gpx_vllm_linux_amd64'), 0o700);
    expect(checkZip(zipAs('vllm-grafana-datasource-0.1.0.zip', 'vllm-grafana-datasource')).errors).toEqual([
      'gpx_vllm_linux_amd64: mode is 0700, must be exactly 0755',
    ]);
  });

  it('rejects a wrong folder or file name', () => {
    makePlugin();
    expect(checkZip(zipAs('vllm-grafana-datasource-0.1.0.zip', 'dist')).errors).toEqual([
      'the archive\'s top-level folder must be named "vllm-grafana-datasource"',
    ]);
    expect(checkZip(zipAs('plugin.zip', 'vllm-grafana-datasource')).errors).toEqual([
      'the archive should be named vllm-grafana-datasource-0.1.0.zip, not plugin.zip',
    ]);
  });
});
