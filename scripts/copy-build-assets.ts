/**
 * After `tsc`: copies the files the compiled code reads beside itself (the write budget's Lua
 * scripts) from src/ into dist/, at the same paths. tsc emits only JavaScript.
 *
 *   node scripts/copy-build-assets.ts   (part of `npm run build`, and of the Dockerfile's build stage)
 */
import { cpSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ASSET = /\.lua$/;
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');
const dist = join(root, 'dist');

for (const entry of readdirSync(src, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !ASSET.test(entry.name)) continue;
  const from = join(entry.parentPath, entry.name);
  cpSync(from, join(dist, relative(src, from)));
}
