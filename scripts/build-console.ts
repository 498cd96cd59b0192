import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const ROOT = new URL('..', import.meta.url).pathname;
/** Where the server looks for the console: dist/server/console/ reads ../../console-ui. */
export const CONSOLE_OUT_DIR = join(ROOT, 'dist', 'console-ui');

/**
 * Compiles the console (console/, Preact in TSX) into `outDir`: one minified ES module and one
 * stylesheet under assets/, named by a hash of their content so they are cached for good, and an
 * index.html naming them. No CDN: everything the page loads comes from the region that serves it.
 * Returns the paths written, relative to `outDir`.
 */
export async function buildConsole(outDir: string = CONSOLE_OUT_DIR): Promise<string[]> {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const result = await build({
    entryPoints: [join(ROOT, 'console', 'main.tsx')],
    outdir: join(outDir, 'assets'),
    entryNames: '[name]-[hash]',
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['chrome111', 'firefox111', 'safari16.4'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    metafile: true,
    logLevel: 'warning',
  });
  const assets = Object.keys(result.metafile.outputs).map((path) => `assets/${basename(path)}`);
  const script = assets.find((path) => path.endsWith('.js'))!;
  const style = assets.find((path) => path.endsWith('.css'));
  writeFileSync(
    join(outDir, 'index.html'),
    `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>Concord console</title>
    <link rel="icon" href="data:," />
    ${style ? `<link rel="stylesheet" href="/console/${style}" />` : ''}
    <script type="module" src="/console/${script}"></script>
  </head>
  <body>
    <div id="app"></div>
  </body>
</html>
`,
  );
  return ['index.html', ...assets];
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await buildConsole();
