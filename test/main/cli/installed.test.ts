// The package as a user installs it (issue 15: `serve` from outside the checkout crashed with
// ERR_MODULE_NOT_FOUND for tsx): `npm pack` the project, unpack the tarball into an empty folder's
// node_modules as npm would, give it only its declared runtime dependencies (linked from this
// checkout's node_modules; devDependencies such as vite, svelte and echarts are not reachable from
// there, so a runtime import of one would fail here), and from yet another empty working directory
// run CLI commands (`models`, `run` on a tiny local model) and `serve` (the page and an engine
// call over the WebSocket).

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { decode, encode } from '../../../preload/codec.ts';
import { ensureRendererBuilt } from '../../../main/renderer-build.ts';
import { writeTinyModel, TOKENIZER } from '../../ui/tiny-model.ts';

const ROOT = join(import.meta.dirname, '../../..');
const tmp = mkdtempSync(join(tmpdir(), 'atlas-installed-'));
const prefix = join(tmp, 'app');
const cwd = join(tmp, 'elsewhere');
const pkgDir = join(prefix, 'node_modules', 'pythia-atlas');
const bin = join(pkgDir, 'bin', 'pythia-atlas.js');
const env = {
  ...process.env,
  PYTHIA_ATLAS_HOME: join(tmp, 'home'),
  PYTHIA_ATLAS_CACHE: join(tmp, 'home', 'cache'),
  HF_HUB_CACHE: join(tmp, 'hub'),
  HF_HUB_OFFLINE: '1',
};

beforeAll(async () => {
  await ensureRendererBuilt();
  mkdirSync(pkgDir, { recursive: true });
  mkdirSync(cwd, { recursive: true });
  const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  const tarball = join(tmp, (JSON.parse(out) as { filename: string }[])[0].filename);
  execFileSync('tar', ['-xzf', tarball, '-C', pkgDir, '--strip-components=1']);
  const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  for (const dep of Object.keys(pkg.dependencies)) {
    const link = join(prefix, 'node_modules', dep);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules', dep), link, 'dir');
  }
}, 240_000);

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const cli = (args: string[]) =>
  spawnSync(process.execPath, [bin, ...args], { cwd, env, encoding: 'utf8', timeout: 200_000 });

describe('the installed package, from another working directory', () => {
  it('holds the runtime sources and the built renderer, not the renderer sources or tests', () => {
    const files = (p: string) => spawnSync('ls', [join(pkgDir, p)], { encoding: 'utf8' }).stdout;
    expect(files('out/renderer')).toContain('index.html');
    expect(files('.')).not.toMatch(/^(renderer|test)$/m);
  });

  it('runs CLI commands', () => {
    const models = cli(['models']);
    expect(models.stderr).toBe('');
    expect(models.status).toBe(0);
    expect(models.stdout).toMatch(/pythia-70m/);
    expect(models.stdout).toMatch(/micro-m/);
  });

  it('runs an analysis on a tiny local model', async () => {
    const model = await writeTinyModel(join(tmp, 'tiny'));
    const data = join(tmp, 'lines.txt');
    writeFileSync(data, 'The cat sat on the mat.\n\nA second paragraph of text.\n');
    const r = cli([
      'run',
      '--model',
      model,
      '--tokenizer',
      TOKENIZER,
      '--dataset',
      data,
      '--analyses',
      'profile',
      '--n',
      '2',
      '--seq-len',
      '16',
      '--project',
      join(cwd, 'p.pythia-atlas'),
    ]);
    expect(r.stderr.split('\n').filter((l) => /error|Cannot find/i.test(l))).toEqual([]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/loss/i);
  });

  it('serves the window and answers an engine call', async () => {
    const child = spawn(process.execPath, [bin, 'serve', '--port', '0'], { cwd, env, stdio: 'pipe' });
    try {
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const url = await new Promise<URL>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('\n')) resolve(new URL(out.split('\n')[0]));
        });
        child.on('exit', (code) => reject(new Error(`serve exited ${code}: ${err}`)));
      });
      const page = await fetch(url);
      expect(page.status).toBe(200);
      expect(await page.text()).toMatch(/<script/);
      const reply = await new Promise<unknown>((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${url.port}/api?token=${url.searchParams.get('token')}`);
        ws.on('error', reject);
        ws.on('open', () => ws.send(encode({ id: 1, method: 'suites', args: {} })));
        ws.on('message', (d: WebSocket.RawData) => {
          const m = decode(d.toString()) as { id?: number; reply?: unknown };
          if (m.id === 1) {
            ws.close();
            resolve(m.reply);
          }
        });
      });
      expect(reply).toMatchObject({ ok: true });
      expect(JSON.stringify(reply)).toMatch(/pythia-70m/);
      expect(err).not.toMatch(/ERR_MODULE_NOT_FOUND|Cannot find/);
    } finally {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await gone;
    }
  });
});
