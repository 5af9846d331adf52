#!/usr/bin/env node
// The `attention-kit` command. The code lives in cli/ and is compiled to dist/cli by `npm run setup`.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'dist', 'cli', 'main.js');
if (!existsSync(entry)) {
  console.error('attention-kit: the kit is not built yet; run `npm run setup` in ' + root);
  process.exit(1);
}
const { cli } = await import(pathToFileURL(entry).href);
try {
  process.exitCode = await cli(process.argv.slice(2));
} catch (error) {
  console.error(`attention-kit: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
