// @ts-check
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** Packages that form the engine: they report through injected reporters and never print. */
const enginePackages = ['core', 'aws', 'engine', 'probe', 'report', 'simulator'];

/** What core must not import: it is the pure domain (design section 3), with no file, network or AWS access. */
const ioModules = ['fs', 'fs/promises', 'net', 'http', 'https', 'child_process', 'dgram', 'dns', 'tls', 'os'];

export default tseslint.config(
  {
    ignores: ['**/dist/**', '**/node_modules/**', 'coverage/**', 'test-output/**', 'docs/**', '**/*.d.ts'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: {
        project: './tsconfig.lint.json',
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-floating-promises': 'error',
      eqeqeq: ['error', 'smart'],
    },
  },
  {
    files: enginePackages.map((p) => `packages/${p}/src/**/*.ts`),
    ignores: ['**/*.test.ts'],
    rules: { 'no-console': 'error' },
  },
  {
    files: ['packages/core/src/**/*.ts'],
    ignores: ['**/*.test.ts', '**/__fixtures__/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ioModules
            .flatMap((m) => [m, `node:${m}`])
            .map((name) => ({
              name,
              message: 'core is pure: file, network and process I/O belong in aws, probe or engine.',
            })),
          patterns: [
            { group: ['@aws-sdk/*', '@smithy/*'], message: 'core is pure: AWS calls belong in the aws package.' },
            { group: ['@imdsv2-cutover/*'], message: 'core imports no other package of the workspace.' },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/require-await': 'off',
      'no-control-regex': 'off',
    },
  },
);
