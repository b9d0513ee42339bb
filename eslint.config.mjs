import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

const RDB_INTERNALS = {
  group: ['**/rdb/*'],
  message: "import the RDB parser through its entry, services/rdb/index.ts ('../rdb'), not a file inside it.",
};

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
    // services/rdb is a library with one entry, services/rdb/index.ts: other
    // folders import '../rdb', never a file inside it.
    files: ['services/**/*.ts'],
    ignores: ['services/rdb/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [RDB_INTERNALS] }],
    },
  },
  {
    // The event format (services/shared), the RDB decoder (services/rdb) and the
    // command table (services/commands) belong to everyone; the source is one
    // producer of events, not a library. Only services/bin wires source and sink.
    // (Flat config does not merge a rule's options, so RDB_INTERNALS is repeated.)
    files: ['services/sink/**', 'services/cli/**'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [RDB_INTERNALS, {
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
