#!/usr/bin/env node
// Checks a packaged plugin the way Grafana's plugin installer and loader,
// and the rules of Grafana's plugin validator, see it. Works offline.
//
//   node tests/packaging/check-package.mjs dist                 # a plugin folder
//   node tests/packaging/check-package.mjs path/to/plugin.zip   # an archive
//
// Archive: one top-level folder named after the plugin id, file name
// <id>-<version>.zip (or <id>-<version>.<os>_<arch>.zip).
// Folder: plugin.json (id, type datasource, backend, executable, version,
// updated date, grafanaDependency, logos), module.js (AMD, no Angular
// markers), README.md, CHANGELOG.md, LICENSE, and backend binaries
// <executable>_<os>_<arch> with mode 0755, among them <executable>_linux_amd64
// and _linux_arm64. Linux binaries must be ELF files for their architecture,
// statically linked (no ELF interpreter), so that they start on any Linux:
// Grafana's official image is Alpine, which has no glibc loader.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { angularMarkersIn, checkModuleText } from './check-module.mjs';

export const PLUGIN_ID = 'vllm-grafana-datasource';
const SEMVER = /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;
const BINARY_SUFFIX = /^_(linux|darwin|windows|freebsd)_(amd64|arm64|arm|386)(\.exe)?$/;
// The Linux architectures every package must serve.
export const REQUIRED_LINUX_ARCHS = ['amd64', 'arm64'];
// e_machine and ELF class per Go architecture name (Grafana's binary suffixes).
const ELF_MACHINES = {
  amd64: { machine: 62, bits: 64, name: 'x86-64' },
  arm64: { machine: 183, bits: 64, name: 'aarch64' },
  arm: { machine: 40, bits: 32, name: 'ARM' },
  386: { machine: 3, bits: 32, name: 'i386' },
};
const PT_INTERP = 3;
const PT_DYNAMIC = 2;

/**
 * The facts of an ELF file's header and program headers that decide whether
 * it runs on a host: { bits, machine, type, interpreter, dynamic }, or
 * { error } when it is no (complete) ELF file.
 */
export function readElf(buf) {
  if (buf.length < 16 || !buf.subarray(0, 4).equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]))) {
    return { error: 'not an ELF executable' };
  }
  const elf64 = buf[4] === 2;
  const le = buf[5] === 1;
  if (![1, 2].includes(buf[4]) || ![1, 2].includes(buf[5])) {
    return { error: 'unknown ELF class or byte order' };
  }
  const u16 = (o) => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
  const u32 = (o) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const u64 = (o) => Number(le ? buf.readBigUInt64LE(o) : buf.readBigUInt64BE(o));
  const word = elf64 ? u64 : u32;
  if (buf.length < (elf64 ? 64 : 52)) {
    return { error: 'truncated ELF header' };
  }
  const phoff = word(elf64 ? 32 : 28);
  const phentsize = u16(elf64 ? 54 : 42);
  const phnum = u16(elf64 ? 56 : 44);
  if (phnum === 0) {
    return { error: 'no program headers: not an executable' };
  }
  let interpreter;
  let dynamic = false;
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (phentsize < (elf64 ? 56 : 32) || ph + phentsize > buf.length) {
      return { error: 'truncated program headers' };
    }
    const type = u32(ph);
    if (type === PT_DYNAMIC) {
      dynamic = true;
    } else if (type === PT_INTERP) {
      const offset = word(elf64 ? ph + 8 : ph + 4);
      const size = word(elf64 ? ph + 32 : ph + 16);
      interpreter = buf.subarray(offset, offset + size).toString('latin1').replace(/\0.*$/s, '') || '?';
    }
  }
  return { bits: elf64 ? 64 : 32, machine: u16(18), type: u16(16), interpreter, dynamic };
}

/** Problems of a Linux binary for `arch` (amd64, arm64, ...), as text. */
export function checkLinuxBinary(buf, arch) {
  const elf = readElf(buf);
  if (elf.error) {
    return [elf.error];
  }
  const problems = [];
  const want = ELF_MACHINES[arch];
  if (want && (elf.machine !== want.machine || elf.bits !== want.bits)) {
    const got = Object.values(ELF_MACHINES).find((m) => m.machine === elf.machine)?.name ?? 'unknown';
    problems.push(
      `built for ELF machine ${elf.machine} (${got}, ${elf.bits}-bit), expected ${want.machine} (${want.name}, ${want.bits}-bit)`
    );
  }
  if (elf.type !== 2 && elf.type !== 3) {
    problems.push(`ELF type ${elf.type} is not an executable`);
  }
  // Static-pie executables keep PT_DYNAMIC (for their own relocations) but
  // have no interpreter: that is what makes them start without a loader.
  if (elf.interpreter !== undefined) {
    problems.push(
      `dynamically linked (ELF interpreter ${elf.interpreter}): it must be static to start on any Linux, Grafana's Alpine image included`
    );
  }
  return problems;
}

const isDate = (s) =>
  typeof s === 'string' &&
  /^\d{4}-\d{2}-\d{2}$/.test(s) &&
  !Number.isNaN(Date.parse(`${s}T00:00:00Z`)) &&
  new Date(`${s}T00:00:00Z`).toISOString().startsWith(s);

function walk(dir, base = dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) {
      out.push(full.slice(base.length + 1) + '/', ...walk(full, base));
    } else {
      out.push(full.slice(base.length + 1));
    }
  }
  return out;
}

function checkRelativeAsset(dir, what, path, errors) {
  if (typeof path !== 'string' || path === '') {
    errors.push(`plugin.json: ${what} is missing`);
  } else if (/^[a-z][a-z0-9+.-]*:/i.test(path) || path.startsWith('.') || path.startsWith('/')) {
    errors.push(`plugin.json: ${what} "${path}" must be a path relative to plugin.json, not starting with '.' or '/'`);
  } else if (!existsSync(join(dir, path))) {
    errors.push(`plugin.json: ${what} "${path}" does not exist in the package`);
  }
}

/** Errors and warnings for an unpacked plugin folder. */
export function checkPluginDir(dir, { id = PLUGIN_ID } = {}) {
  const errors = [];
  const warnings = [];
  const pluginJsonPath = join(dir, 'plugin.json');
  if (!existsSync(pluginJsonPath)) {
    return { errors: ['plugin.json is missing'], warnings, meta: undefined };
  }
  let meta;
  try {
    meta = JSON.parse(readFileSync(pluginJsonPath, 'utf8'));
  } catch (e) {
    return { errors: [`plugin.json is not valid JSON: ${e.message}`], warnings, meta: undefined };
  }

  if (meta.id !== id) {
    errors.push(`plugin.json: id is ${JSON.stringify(meta.id)}, expected "${id}"`);
  }
  if (meta.type !== 'datasource') {
    errors.push(`plugin.json: type is ${JSON.stringify(meta.type)}, expected "datasource"`);
  }
  if (typeof meta.id === 'string' && !meta.id.endsWith(`-${meta.type}`)) {
    errors.push(`plugin.json: id "${meta.id}" must end with "-${meta.type}"`);
  }
  if (typeof meta.name !== 'string' || meta.name.trim() === '') {
    errors.push('plugin.json: name is missing');
  }
  if (meta.backend !== true) {
    errors.push('plugin.json: backend must be true');
  }
  if (meta.metrics !== true) {
    errors.push('plugin.json: metrics must be true, or panels cannot query the datasource');
  }
  const executable = meta.executable;
  if (typeof executable !== 'string' || executable === '' || /[/\\]|\.\./.test(executable)) {
    errors.push(`plugin.json: executable must be a plain file name, got ${JSON.stringify(executable)}`);
  }
  const version = meta.info?.version;
  if (typeof version !== 'string' || !SEMVER.test(version)) {
    errors.push(`plugin.json: info.version must be a semantic version, got ${JSON.stringify(version)}`);
  }
  const updated = meta.info?.updated;
  if (!isDate(updated)) {
    errors.push(`plugin.json: info.updated must be a date YYYY-MM-DD, got ${JSON.stringify(updated)}`);
  }
  const grafanaDependency = meta.dependencies?.grafanaDependency;
  if (typeof grafanaDependency !== 'string' || !/^\s*>=?\s*\d+\.\d+/.test(grafanaDependency)) {
    errors.push(
      `plugin.json: dependencies.grafanaDependency must be a range such as ">=10.4.0", got ${JSON.stringify(grafanaDependency)}`
    );
  }
  checkRelativeAsset(dir, 'info.logos.small', meta.info?.logos?.small, errors);
  checkRelativeAsset(dir, 'info.logos.large', meta.info?.logos?.large, errors);
  for (const [i, shot] of (meta.info?.screenshots ?? []).entries()) {
    checkRelativeAsset(dir, `info.screenshots[${i}].path`, shot?.path, errors);
  }

  const modulePath = join(dir, 'module.js');
  if (!existsSync(modulePath)) {
    errors.push('module.js is missing');
  } else {
    for (const p of checkModuleText(readFileSync(modulePath, 'utf8'))) {
      errors.push(`module.js ${p}`);
    }
  }

  const files = walk(dir);
  for (const f of files) {
    if (f.split('/').includes('node_modules')) {
      errors.push(`${f}: node_modules must not be packaged`);
      break;
    }
    if (f.endsWith('.js') && f !== 'module.js') {
      for (const m of angularMarkersIn(readFileSync(join(dir, f), 'utf8'))) {
        errors.push(`${f} contains the Angular marker ${m}`);
      }
    }
  }

  if (typeof executable === 'string' && executable !== '') {
    const binaries = files.filter((f) => !f.includes('/') && f.startsWith(executable));
    for (const arch of REQUIRED_LINUX_ARCHS) {
      if (!binaries.includes(`${executable}_linux_${arch}`)) {
        errors.push(`no backend binary ${executable}_linux_${arch} in the package`);
      }
    }
    for (const b of binaries) {
      const suffix = b.slice(executable.length);
      if (!BINARY_SUFFIX.test(suffix)) {
        errors.push(`${b}: binaries must be named ${executable}_<os>_<arch>`);
      }
      const st = statSync(join(dir, b));
      if (!b.endsWith('.exe') && (st.mode & 0o777) !== 0o755) {
        errors.push(`${b}: mode is ${(st.mode & 0o777).toString(8).padStart(4, '0')}, must be exactly 0755`);
      }
      const linux = /_linux_([a-z0-9]+)$/.exec(b);
      if (linux) {
        for (const p of checkLinuxBinary(readFileSync(join(dir, b)), linux[1])) {
          errors.push(`${b}: ${p}`);
        }
      }
    }
  }

  for (const doc of ['README.md', 'CHANGELOG.md']) {
    const p = join(dir, doc);
    if (!existsSync(p) || readFileSync(p, 'utf8').trim() === '') {
      errors.push(`${doc} is missing or empty`);
    }
  }
  const license = files.find((f) => /^LICENSE(\.md|\.txt)?$/i.test(f));
  if (!license || readFileSync(join(dir, license), 'utf8').trim() === '') {
    errors.push('LICENSE is missing or empty');
  }
  if (!existsSync(join(dir, 'MANIFEST.txt'))) {
    warnings.push('unsigned (no MANIFEST.txt): Grafana loads it only when allowed with GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS');
  }
  return { errors, warnings, meta };
}

/** Errors and warnings for a plugin zip archive. Needs `unzip`. */
export function checkZip(zipPath, { id = PLUGIN_ID } = {}) {
  const errors = [];
  const names = execFileSync('unzip', ['-Z1', zipPath], { encoding: 'utf8' })
    .split('\n')
    .filter((n) => n !== '');
  if (names.length === 0) {
    return { errors: ['the archive is empty'], warnings: [] };
  }
  const roots = new Set(names.map((n) => n.split('/')[0]));
  if (roots.size !== 1 || !names.every((n) => n.includes('/'))) {
    errors.push(`the archive must hold exactly one top-level folder, found: ${[...roots].join(', ')}`);
  }
  if (!roots.has(id)) {
    errors.push(`the archive's top-level folder must be named "${id}"`);
  }
  if (names.some((n) => n.startsWith(`${id}/dist/`))) {
    errors.push('the archive has a nested dist/ folder: its content belongs directly in the plugin folder');
  }
  const tmp = mkdtempSync(join(tmpdir(), 'plugin-zip-'));
  try {
    execFileSync('unzip', ['-q', zipPath, '-d', tmp]);
    const dir = join(tmp, id);
    if (!existsSync(dir)) {
      return { errors, warnings: [] };
    }
    const inner = checkPluginDir(dir, { id });
    errors.push(...inner.errors);
    const version = inner.meta?.info?.version;
    const name = basename(zipPath);
    const expected = new RegExp(`^${id}-${String(version).replace(/[.+]/g, '\\$&')}(\\.[a-z]+_[a-z0-9]+)?\\.zip$`);
    if (!expected.test(name)) {
      errors.push(`the archive should be named ${id}-${version}.zip, not ${name}`);
    }
    return { errors, warnings: inner.warnings };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const target = process.argv[2] ?? 'dist';
  const { errors, warnings } = target.endsWith('.zip') ? checkZip(target) : checkPluginDir(target);
  for (const w of warnings) {
    console.warn(`warning: ${w}`);
  }
  for (const e of errors) {
    console.error(`error: ${e}`);
  }
  if (errors.length > 0) {
    console.error(`${target}: ${errors.length} packaging error(s)`);
    process.exit(1);
  }
  console.log(`${target}: plugin layout OK`);
}
