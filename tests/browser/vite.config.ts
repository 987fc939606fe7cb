// The browser suite's test page (tests/browser.rs builds it into a temporary
// directory and serves it next to the bridge to the plugin). Unlike
// module.js, everything is bundled: Grafana is not there to provide React,
// @grafana/ui or @grafana/runtime. Monaco is copied beside the page, as
// Grafana serves it.
import { cpSync, existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, Plugin } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

// Grafana serves Monaco itself, from <public path>lib/monaco/min/vs, where
// @grafana/ui's CodeEditor loads it; the page serves the copy @grafana/ui
// depends on (node_modules/monaco-editor) at the same place.
const monaco = fileURLToPath(new URL('../../node_modules/monaco-editor/min/vs', import.meta.url));
const packageJson = (name: string) =>
  JSON.parse(readFileSync(fileURLToPath(new URL(`../../node_modules/${name}/package.json`, import.meta.url)), 'utf8'));

function serveMonaco(): Plugin {
  let outDir = '';
  return {
    name: 'serve-monaco',
    apply: 'build',
    configResolved(config) {
      outDir = resolve(config.root, config.build.outDir);
    },
    closeBundle() {
      if (!existsSync(monaco)) {
        throw new Error(`${monaco} is missing: install the frontend's packages first (npm ci)`);
      }
      // The Monaco @grafana/ui was built against, as the Grafana release serves it.
      const wanted = packageJson('@grafana/ui').dependencies['monaco-editor'];
      const found = packageJson('monaco-editor').version;
      if (wanted !== found) {
        throw new Error(`@grafana/ui expects monaco-editor ${wanted}, node_modules has ${found}`);
      }
      cpSync(monaco, resolve(outDir, 'lib/monaco/min/vs'), { recursive: true });
    },
  };
}

export default defineConfig({
  root,
  base: '/',
  // Grafana serves @grafana/ui's icons under its public path; so does the page.
  publicDir: fileURLToPath(new URL('../../node_modules/@grafana/ui/dist/public', import.meta.url)),
  logLevel: 'warn',
  plugins: [serveMonaco()],
  esbuild: { jsx: 'transform', jsxFactory: 'React.createElement', jsxFragment: 'React.Fragment' },
  define: { 'process.env.NODE_ENV': JSON.stringify('production') },
  build: {
    emptyOutDir: true,
    target: 'es2020',
    sourcemap: false,
    minify: false,
    reportCompressedSize: false,
    chunkSizeWarningLimit: 100000,
    rollupOptions: {
      // Some of @grafana/ui's dependencies mark their modules "use client";
      // that means nothing in a bundle.
      onwarn(warning, warn) {
        if (warning.code !== 'MODULE_LEVEL_DIRECTIVE') {
          warn(warning);
        }
      },
    },
  },
});
