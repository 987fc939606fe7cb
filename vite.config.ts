/// <reference types="vitest/config" />
import { defineConfig } from 'vite';

// Grafana provides these to plugins at run time through its SystemJS/AMD
// loader; bundling our own copies would break shared state (theme, runtime
// services) and bloat module.js.
const externals = [
  'react',
  'react-dom',
  '@grafana/data',
  '@grafana/ui',
  '@grafana/runtime',
  '@emotion/css',
  'rxjs',
  'rxjs/operators',
  'lodash',
];

export default defineConfig({
  // Classic JSX (React.createElement) so the bundle needs only `react`, which
  // every supported Grafana version provides (not `react/jsx-runtime`).
  esbuild: { jsx: 'transform', jsxFactory: 'React.createElement', jsxFragment: 'React.Fragment' },
  publicDir: false,
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2020',
    sourcemap: true,
    minify: true,
    // Not an app: no HTML, no preload helper, no hashed file names.
    modulePreload: false,
    cssCodeSplit: false,
    rollupOptions: {
      input: 'src/frontend/module.ts',
      // Keep the entry's exports (an app build would drop them).
      preserveEntrySignatures: 'strict',
      external: (id) => externals.includes(id),
      output: {
        // Grafana's plugin loader evaluates module.js as an AMD module.
        format: 'amd',
        entryFileNames: 'module.js',
        // Named exports only (`plugin`), as the loader reads exports.plugin.
        exports: 'named',
        inlineDynamicImports: true,
      },
    },
  },
  test: {
    environment: 'jsdom',
    globals: true,
    include: ['src/frontend/**/*.test.{ts,tsx}', 'tests/packaging/**/*.test.mjs'],
    setupFiles: ['src/frontend/test/setup.ts'],
    reporters: ['default', './src/frontend/test/summary-reporter.ts'],
    // @grafana/ui is large; the first import in a worker takes a while.
    testTimeout: 20000,
    pool: 'threads',
    // @grafana/runtime pulls in SystemJS (Grafana's plugin loader) by paths
    // Node cannot resolve; transform it so the alias below applies.
    server: { deps: { inline: ['@grafana/runtime'] } },
    alias: [
      { find: /^@grafana\/runtime$/, replacement: '@grafana/runtime/dist/esm/index.js' },
      { find: /^systemjs(\/.*)?$|^systemjs-cjs-extra$/, replacement: '/src/frontend/test/empty.ts' },
    ],
  },
});
