// Lint for the frontend (TypeScript + React) and the packaging scripts.
import js from '@eslint/js';
import reactHooks from 'eslint-plugin-react-hooks';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    // Everything outside the frontend is Rust, data or build output.
    ignores: ['dist/**', 'node_modules/**', 'target/**', 'src/**/*.rs', 'tests/**/*.rs', 'coverage/**'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['src/frontend/**/*.{ts,tsx}', 'tests/browser/**/*.{ts,tsx}'],
    plugins: { 'react-hooks': reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // What is bundled into module.js (tests check for the names on purpose).
    files: ['src/frontend/**/*.{ts,tsx}'],
    ignores: ['src/frontend/**/*.test.{ts,tsx}', 'src/frontend/test/**'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: 'Literal[value=/PanelCtrl|ConfigCtrl|QueryCtrl|editor\\.html/]',
          message: "Grafana's loader rejects module.js containing Angular-era names",
        },
      ],
    },
  },
  {
    files: ['tests/packaging/**/*.{js,mjs}', 'tests/browser/**/*.mjs', 'scripts/**/*.{js,mjs}'],
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        URL: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        // Code passed to the browser (page.waitForFunction).
        document: 'readonly',
      },
    },
  }
);
