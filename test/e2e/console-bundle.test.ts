import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { buildConsole } from '../../scripts/build-console.ts';

/** The budget for the console's JavaScript, gzipped as the region serves it. */
const JS_BUDGET = 250 * 1024;

describe('the console as npm run build compiles it', () => {
  it('ships under 250 KB of gzipped JavaScript, every file named by its hash and loaded from the region itself', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'concord-console-build-'));
    const files = await buildConsole(dir);
    const scripts = files.filter((file) => file.endsWith('.js'));
    assert.equal(scripts.length, 1);
    const gzipped = scripts.reduce((total, file) => total + gzipSync(readFileSync(join(dir, file))).length, 0);
    console.log(`console: JavaScript ${scripts.map((file) => readFileSync(join(dir, file)).length).join('+')} bytes, ${gzipped} bytes gzipped`);
    assert.ok(gzipped < JS_BUDGET, `${gzipped} bytes gzipped`);
    for (const file of files.filter((f) => f !== 'index.html')) assert.match(file, /^assets\/main-[A-Z0-9]{8}\.(js|css)$/);
    const html = readFileSync(join(dir, 'index.html'), 'utf8');
    const loaded = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(
      loaded.filter((url) => url !== 'data:,' && !url!.startsWith('/console/assets/')),
      [],
    );
  });
});
