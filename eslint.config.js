// ESLint flat config: type-checked TypeScript rules everywhere, and the workflow sandbox boundary on workflows/**.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

const nodeBuiltins = [
  'assert',
  'async_hooks',
  'buffer',
  'child_process',
  'cluster',
  'crypto',
  'dgram',
  'dns',
  'events',
  'fs',
  'fs/promises',
  'http',
  'http2',
  'https',
  'net',
  'os',
  'path',
  'perf_hooks',
  'process',
  'readline',
  'stream',
  'timers',
  'tls',
  'url',
  'util',
  'v8',
  'vm',
  'worker_threads',
  'zlib',
];

/** Imports that would break workflow determinism or drag I/O into the workflow sandbox. */
export const workflowRestrictedImports = {
  paths: [
    ...nodeBuiltins.flatMap((name) => [
      { name, message: 'Workflows are deterministic: no Node built-ins. Do I/O in an activity.' },
      {
        name: `node:${name}`,
        message: 'Workflows are deterministic: no Node built-ins. Do I/O in an activity.',
      },
    ]),
    { name: 'pg', message: 'Workflows must not touch the database. Use an activity.' },
    { name: 'pino', message: 'Use log from @temporalio/workflow in workflows.' },
    { name: 'onnxruntime-node', message: 'Inference belongs in an activity.' },
    { name: '@temporalio/client', message: 'Workflows use @temporalio/workflow only.' },
    { name: '@temporalio/worker', message: 'Workflows use @temporalio/workflow only.' },
    { name: '@temporalio/activity', message: 'Workflows use @temporalio/workflow only.' },
  ],
  patterns: [
    { group: ['@aws-sdk/*'], message: 'Workflows must not touch the artifact store. Use an activity.' },
    {
      group: ['**/platform/*', '**/ml/*', '**/activities/*', '!**/activities/index.js'],
      allowTypeImports: true,
      message: 'Workflows may import domain/ and activity types only.',
    },
  ],
};

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      '.slipway/**',
      'dist/**',
      'coverage/**',
      'test/fixtures/**',
      'bench/.cache/**',
      'cli/bin.js',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js', 'activities/*.mjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    plugins: { 'import-x': importX },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'import-x/no-cycle': ['error', { maxDepth: 10 }],
      'no-console': 'error',
    },
    settings: {
      // Resolve NodeNext `.js` specifiers to their `.ts` sources, so no-cycle sees the real import graph.
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
      'import-x/ignore': ['node_modules'],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', workflowRestrictedImports] },
  },
  {
    files: ['cli/**/*.ts', 'bench/**/*.ts', 'infra/**/*.ts', 'examples/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
  {
    // Tests read untyped database rows and JSON bodies and assert on them.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
    },
  },
  {
    files: ['infra/**/*.mjs', 'cli/*.js', 'activities/*.mjs'],
    languageOptions: { globals: { URL: 'readonly', console: 'readonly', process: 'readonly' } },
    rules: { 'no-console': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
);
