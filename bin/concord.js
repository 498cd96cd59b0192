#!/usr/bin/env node
// Runs the compiled build (`npm run build`, done by `npm install` through `prepare`).
import { existsSync } from 'node:fs';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  console.error('concord: dist/ is missing; run `npm run build` (or `npm install`) first');
  process.exit(1);
}
await import(main.href);
