// @vitest-environment node
// Self-tests of the packaging checks, on small synthetic plugin folders.
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { checkModuleText } from './check-module.mjs';
import { checkLinuxBinary, checkPluginDir, checkZip, readElf } from './check-package.mjs';

const MODULE = 'define(["require","exports","react","@grafana/data"],(function(r,e,t,a){"use strict";e.plugin=new a.DataSourcePlugin(class{})}));';
const PLUGIN_JSON = {
  type: 'datasource',
  name: 'vLLM',
  id: 'vllm-grafana-datasource',
  backend: true,
  executable: 'gpx_vllm',
  metrics: true,
  info: { version: '0.1.0', updated: '2026-01-31', logos: { small: 'img/logo.svg', large: 'img/logo.svg' } },
  dependencies: { grafanaDependency: '>=10.4.0' },
};

const EM_X86_64 = 62;
const EM_AARCH64 = 183;
const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;

/**
 * A minimal little-endian ELF64 executable: the file header, one program
 * header per entry of `segments` (PT_* numbers), and the interpreter path
 * that a PT_INTERP header points to.
 */
function elf({ machine = EM_X86_64, type = 2, segments = [PT_LOAD], interpreter = '/lib/ld-musl-x86_64.so.1' } = {}) {
  const phoff = 64;
  const phentsize = 56;
  const interpOffset = phoff + phentsize * segments.length;
  const path = Buffer.from(`${interpreter}\0`, 'latin1');
  const buf = Buffer.alloc(interpOffset + path.length);
  buf.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]); // magic, ELFCLASS64, little-endian, version 1
  buf.writeUInt16LE(type, 16);
  buf.writeUInt16LE(machine, 18);
  buf.writeUInt32LE(1, 20);
  buf.writeBigUInt64LE(BigInt(phoff), 32);
  buf.writeUInt16LE(64, 52);
  buf.writeUInt16LE(phentsize, 54);
  buf.writeUInt16LE(segments.length, 56);
  buf.writeUInt16LE(64, 58);
  segments.forEach((ptype, i) => {
    const ph = phoff + i * phentsize;
    buf.writeUInt32LE(ptype, ph);
    if (ptype === PT_INTERP) {
      buf.writeBigUInt64LE(BigInt(interpOffset), ph + 8);
      buf.writeBigUInt64LE(BigInt(path.length), ph + 32);
      buf.writeBigUInt64LE(BigInt(path.length), ph + 40);
    }
  });
  path.copy(buf, interpOffset);
  return buf;
}

// A static executable (amd64) and a static-pie one (arm64), as musl builds are.
const STATIC_AMD64 = elf({ machine: EM_X86_64 });
const STATIC_PIE_ARM64 = elf({ machine: EM_AARCH64, type: 3, segments: [PT_LOAD, PT_DYNAMIC] });

let root;
let dir;

function writeBinary(name, bytes) {
  writeFileSync(join(dir, name), bytes);
  chmodSync(join(dir, name), 0o755);
}

function makePlugin(meta = PLUGIN_JSON) {
  mkdirSync(join(dir, 'img'), { recursive: true });
  writeFileSync(join(dir, 'plugin.json'), JSON.stringify(meta));
  writeFileSync(join(dir, 'module.js'), MODULE);
  writeFileSync(join(dir, 'img', 'logo.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  writeFileSync(join(dir, 'README.md'), '# vLLM\n');
  writeFileSync(join(dir, 'CHANGELOG.md'), '# Changelog\n');
  writeFileSync(join(dir, 'LICENSE'), 'Apache License\nVersion 2.0, January 2004\n');
  writeBinary('gpx_vllm_linux_amd64', STATIC_AMD64);
  writeBinary('gpx_vllm_linux_arm64', STATIC_PIE_ARM64);
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
    makePlugin({
      ...PLUGIN_JSON,
      backend: false,
      info: { version: '%VERSION%', updated: '%TODAY%', logos: { small: './img/logo.svg', large: 'img/missing.png' } },
    });
    rmSync(join(dir, 'README.md'));
    rmSync(join(dir, 'LICENSE'));
    rmSync(join(dir, 'gpx_vllm_linux_amd64'));
    rmSync(join(dir, 'gpx_vllm_linux_arm64'));
    const { errors } = checkPluginDir(dir);
    expect(errors).toEqual([
      'plugin.json: backend must be true',
      'plugin.json: info.version must be a semantic version, got "%VERSION%"',
      'plugin.json: info.updated must be a date YYYY-MM-DD, got "%TODAY%"',
      `plugin.json: info.logos.small "./img/logo.svg" must be a path relative to plugin.json, not starting with '.' or '/'`,
      'plugin.json: info.logos.large "img/missing.png" does not exist in the package',
      'no backend binary gpx_vllm_linux_amd64 in the package',
      'no backend binary gpx_vllm_linux_arm64 in the package',
      'README.md is missing or empty',
      'LICENSE is missing or empty',
    ]);
  });

  it('requires info.updated to be a real date', () => {
    for (const updated of [undefined, '2026-1-31', '2026-02-30', '31/01/2026']) {
      makePlugin({ ...PLUGIN_JSON, info: { ...PLUGIN_JSON.info, updated } });
      expect(checkPluginDir(dir).errors).toEqual([
        `plugin.json: info.updated must be a date YYYY-MM-DD, got ${JSON.stringify(updated)}`,
      ]);
    }
  });

  it('requires both Linux architectures', () => {
    makePlugin();
    rmSync(join(dir, 'gpx_vllm_linux_arm64'));
    expect(checkPluginDir(dir).errors).toEqual(['no backend binary gpx_vllm_linux_arm64 in the package']);
  });

  it('rejects an empty LICENSE', () => {
    makePlugin();
    writeFileSync(join(dir, 'LICENSE'), '\n');
    expect(checkPluginDir(dir).errors).toEqual(['LICENSE is missing or empty']);
  });

  it('rejects a binary for the wrong machine, a dynamic one and a non-ELF one', () => {
    makePlugin();
    writeBinary('gpx_vllm_linux_arm64', STATIC_AMD64);
    writeBinary('gpx_vllm_linux_amd64', elf({ type: 3, segments: [PT_LOAD, PT_INTERP, PT_DYNAMIC], interpreter: '/lib64/ld-linux-x86-64.so.2' }));
    expect(checkPluginDir(dir).errors).toEqual([
      "gpx_vllm_linux_amd64: dynamically linked (ELF interpreter /lib64/ld-linux-x86-64.so.2): it must be static to start on any Linux, Grafana's Alpine image included",
      'gpx_vllm_linux_arm64: built for ELF machine 62 (x86-64, 64-bit), expected 183 (aarch64, 64-bit)',
    ]);
    writeBinary('gpx_vllm_linux_amd64', Buffer.from('#!/bin/sh\necho hi\n'));
    writeBinary('gpx_vllm_linux_arm64', STATIC_AMD64.subarray(0, 100));
    expect(checkPluginDir(dir).errors).toEqual([
      'gpx_vllm_linux_amd64: not an ELF executable',
      'gpx_vllm_linux_arm64: truncated program headers',
    ]);
  });
});

describe('readElf and checkLinuxBinary', () => {
  it('read the synthetic headers back', () => {
    expect(readElf(STATIC_AMD64)).toEqual({ bits: 64, machine: EM_X86_64, type: 2, interpreter: undefined, dynamic: false });
    expect(readElf(STATIC_PIE_ARM64)).toEqual({ bits: 64, machine: EM_AARCH64, type: 3, interpreter: undefined, dynamic: true });
    expect(readElf(elf({ segments: [PT_INTERP] })).interpreter).toBe('/lib/ld-musl-x86_64.so.1');
  });

  it('accept static and static-pie executables for their own machine only', () => {
    expect(checkLinuxBinary(STATIC_AMD64, 'amd64')).toEqual([]);
    expect(checkLinuxBinary(STATIC_PIE_ARM64, 'arm64')).toEqual([]);
    expect(checkLinuxBinary(STATIC_PIE_ARM64, 'amd64')).toEqual([
      'built for ELF machine 183 (aarch64, 64-bit), expected 62 (x86-64, 64-bit)',
    ]);
    expect(checkLinuxBinary(elf({ type: 1 }), 'amd64')).toEqual(['ELF type 1 is not an executable']);
    expect(checkLinuxBinary(elf({ segments: [] }), 'amd64')).toEqual(['no program headers: not an executable']);
  });
});

describe('checkZip', () => {
  it('accepts one folder named after the plugin id', () => {
    makePlugin();
    expect(checkZip(zipAs('vllm-grafana-datasource-0.1.0.zip', 'vllm-grafana-datasource')).errors).toEqual([]);
  });

  it('reads the binaries and LICENSE from the archive', () => {
    makePlugin();
    writeBinary('gpx_vllm_linux_arm64', elf({ machine: EM_AARCH64, segments: [PT_LOAD, PT_INTERP] }));
    rmSync(join(dir, 'LICENSE'));
    expect(checkZip(zipAs('vllm-grafana-datasource-0.1.0.zip', 'vllm-grafana-datasource')).errors).toEqual([
      "gpx_vllm_linux_arm64: dynamically linked (ELF interpreter /lib/ld-musl-x86_64.so.1): it must be static to start on any Linux, Grafana's Alpine image included",
      'LICENSE is missing or empty',
    ]);
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
