/**
 * The design rule, checked by `npm run lint:deps` (part of `npm test`): imports point down the
 * layers only, a folder is reached only through its index.ts, and there are no cycles.
 * A folder may import the folders of lower layers; folders in one layer do not import each other.
 */
const layers = [
  ['util'],
  ['errors', 'logging', 'crypto', 'store'],
  ['cryptounits', 'outbox', 'audit'],
  ['kms', 'hsm'],
  ['config', 'regions', 'iam', 'keyprotect', 'uko'],
  ['server'],
  ['runtime'],
  ['cli'],
];

const notBelow = (rank) => layers.slice(rank).flat();

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    ...layers.flatMap((folders, rank) =>
      folders.map((folder) => ({
        name: `layers-${folder}`,
        comment: `src/${folder} may import only the layers below it: ${layers.slice(0, rank).flat().join(', ') || 'none'}`,
        severity: 'error',
        from: { path: `^src/${folder}/`, pathNot: '\\.(test|suite)\\.ts$' },
        to: {
          path: `^src/(${notBelow(rank)
            .filter((f) => f !== folder)
            .join('|')})/`,
        },
      })),
    ),
    {
      name: 'index-is-the-face',
      comment: 'another folder of src is imported only through its index.ts',
      severity: 'error',
      from: { path: '^src/([^/]+)/' },
      to: { path: '^src/', pathNot: ['^src/[^/]+/index[.]ts$', '^src/$1/'] },
    },
    {
      name: 'index-is-the-face-for-tests',
      comment: "end-to-end tests and benchmarks reach src only through its folders' index.ts",
      severity: 'error',
      from: { path: '^(test|bench)/' },
      to: { path: '^src/', pathNot: '^src/[^/]+/index[.]ts$' },
    },
    {
      name: 'console-is-the-browser',
      comment: 'the web console (console/) runs in the browser: it reads the KMS types of src, never its code, and nothing of Node',
      severity: 'error',
      from: { path: '^console/' },
      to: { path: '^src/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'console-has-no-node',
      comment: 'the web console runs in the browser',
      severity: 'error',
      from: { path: '^console/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'no-circular',
      comment: 'modules depend on each other in one direction only',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.tsx', '.js', '.json'] },
  },
};
