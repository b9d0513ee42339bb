import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.tandem/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    // The event format (services/shared), the RDB decoder (services/rdb) and the
    // command table (services/commands) belong to everyone; the source is one
    // producer of events, not a library. Only services/bin wires source and sink.
    files: ['services/sink/**', 'services/cli/**'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{
          group: ['**/source', '**/source/**', './source/*', '../source/*', '../../source/*'],
          message: 'sink and cli must not import the source: move what they share to services/shared, services/rdb or services/commands (issue 10: the event format belongs to everyone).',
        }],
      }],
    },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: globals.node },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
