#!/usr/bin/env node
// Installs what is missing before `npm test` and `npm run demo`, so both work on a fresh clone.
// Uses only Node built-ins (it runs before node_modules exists). onnxruntime-node's CUDA download
// is skipped (ONNXRUNTIME_NODE_INSTALL=skip); npm 11 runs only the install scripts approved in
// package.json's allowScripts (better-sqlite3).
import { existsSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const wanted = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies });
const missing = wanted.filter((name) => !existsSync(join(root, 'node_modules', name, 'package.json')));
const sqliteBuilt = existsSync(join(root, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node'));
if (missing.length > 0 || !sqliteBuilt) {
  process.stderr.write(
    `pythia-atlas: installing dependencies (${missing.length ? `missing: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''}` : 'better-sqlite3 not built'})\n`,
  );
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, [existsSync(join(root, 'package-lock.json')) ? 'ci' : 'install'], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: process.env.ONNXRUNTIME_NODE_INSTALL ?? 'skip' },
  });
  if (r.status !== 0) {
    process.stderr.write('pythia-atlas: npm install failed; see the messages above.\n');
    process.exit(r.status ?? 1);
  }
}
