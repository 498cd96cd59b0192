import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { gzipSync } from 'node:zlib';

export interface ConsoleAsset {
  body: Buffer;
  gzipped: Buffer;
  contentType: string;
  /** Whether the name carries a hash of the content, so a browser may keep it for good. */
  immutable: boolean;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/**
 * The built console (`npm run build` writes it, see scripts/build-console.ts): index.html and the
 * hashed bundles under assets/, read and gzipped once at start, served from memory. A Map keyed
 * by the URL path below /console/, so a request path is never joined onto a file path.
 */
export function loadConsoleAssets(dir: string): Map<string, ConsoleAsset> {
  const assets = new Map<string, ConsoleAsset>();
  if (!existsSync(dir)) return assets;
  const add = (path: string, immutable: boolean) => {
    const contentType = CONTENT_TYPES[extname(path)];
    if (contentType === undefined) return;
    const body = readFileSync(join(dir, path));
    assets.set(path, { body, gzipped: gzipSync(body), contentType, immutable });
  };
  add('index.html', false);
  if (existsSync(join(dir, 'assets'))) for (const name of readdirSync(join(dir, 'assets'))) add(`assets/${name}`, true);
  return assets;
}
