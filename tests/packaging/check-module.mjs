#!/usr/bin/env node
// Checks a built module.js the way Grafana's plugin loader will see it:
//  - an AMD module (define([...], factory)) that exports `plugin`;
//  - only the shared dependencies Grafana provides to plugins;
//  - none of the Angular-era markers that make Grafana treat a plugin as an
//    Angular plugin and refuse to load it (even inside comments or strings).
// Usage: node tests/packaging/check-module.mjs [path/to/module.js]
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

/** Substrings and patterns Grafana's Angular detection looks for. */
export const ANGULAR_MARKERS = [
  'PanelCtrl',
  'ConfigCtrl',
  'app/plugins/sdk',
  'angular.isNumber(',
  'editor.html',
  'ctrl.annotation',
  'getLegacyAngularInjector',
  /["']QueryCtrl["']/,
  /["']angular["']/,
];

/** Module names Grafana's loader provides to plugins (plus AMD's own). */
export const SHARED_DEPENDENCIES = new Set([
  'require',
  'exports',
  'module',
  'react',
  'react-dom',
  '@grafana/data',
  '@grafana/ui',
  '@grafana/runtime',
  '@emotion/css',
  'rxjs',
  'rxjs/operators',
  'lodash',
]);

/** Angular markers found in a JavaScript text. */
export function angularMarkersIn(text) {
  return ANGULAR_MARKERS.filter((m) => (typeof m === 'string' ? text.includes(m) : m.test(text))).map(String);
}

/** Problems with the text of a module.js; empty when it is fine. */
export function checkModuleText(text) {
  const problems = angularMarkersIn(text).map((m) => `contains the Angular marker ${m}`);
  const define = /^define\((\[[^\]]*\])\s*,/.exec(text.trimStart());
  if (!define) {
    problems.push('is not an AMD module: it must start with define([...], factory)');
  } else {
    let deps = [];
    try {
      deps = JSON.parse(define[1]);
    } catch {
      problems.push(`has an unreadable AMD dependency list ${define[1]}`);
    }
    for (const dep of deps) {
      if (!SHARED_DEPENDENCIES.has(dep)) {
        problems.push(`depends on "${dep}", which Grafana does not provide to plugins (bundle it or drop it)`);
      }
    }
    if (!deps.includes('exports')) {
      problems.push('has no "exports" dependency, so it cannot export `plugin`');
    }
  }
  if (!/\.plugin\s*=/.test(text)) {
    problems.push('does not export `plugin`');
  }
  return problems;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const path = process.argv[2] ?? 'dist/module.js';
  const problems = checkModuleText(readFileSync(path, 'utf8'));
  for (const p of problems) {
    console.error(`${path} ${p}`);
  }
  if (problems.length > 0) {
    process.exit(1);
  }
  console.log(`${path}: AMD module exporting plugin, shared dependencies only, no Angular markers`);
}
