// ESLint flat config: strict TypeScript everywhere, Svelte in the renderer, and the layer table
// of ARCHITECTURE.md enforced by the local rule `layers/imports` (eslint.layers.js): native-models/
// imports nothing of the app, only main/electron/ and the preload import electron, the renderer
// sees only the contract. test/, scripts/ and bin/ may import anything.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';
import { layersPlugin } from './eslint.layers.js';

export default tseslint.config(
  { ignores: ['node_modules/', 'out/', 'dist/', 'test/fixtures/data/', '**/*.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...svelte.configs['flat/recommended'],
  {
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
    plugins: { layers: layersPlugin },
    rules: {
      'layers/imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-eval': 'error',
      'no-new-func': 'error',
    },
  },
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: { parserOptions: { parser: tseslint.parser } },
  },
);
