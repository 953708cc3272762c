// The capability store and the validation of path arguments: only granted files, or files inside
// granted folders (after resolving symlinks), pass; save targets may be new files in a granted
// folder; model specs are paths only when they look like one; browser mode applies the same rule
// with --allow-path, over a real WebSocket.

import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { decode, encode } from '../../../preload/codec.ts';
import { grantChosen } from '../../../main/transport/grant-chosen.ts';
import { askForPaths, pathArguments, refusePaths } from '../../../main/transport/path-args.ts';
import { PathGrants } from '../../../main/path-grants.ts';
import { serve } from '../../../main/server.ts';

const dir = mkdtempSync(join(tmpdir(), 'atlas-grants-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const allowed = join(dir, 'allowed');
mkdirSync(allowed);
writeFileSync(join(allowed, 'data.txt'), 'hello');
writeFileSync(join(dir, 'outside.txt'), 'secret');
symlinkSync('/etc/passwd', join(allowed, 'sneaky.txt'));
symlinkSync(dir, join(allowed, 'up'));

describe('PathGrants', () => {
  it('allows granted files and the inside of granted folders only', () => {
    const g = new PathGrants();
    expect(g.allows(join(allowed, 'data.txt'), 'existing')).toBe(false);
    g.grantDir(allowed, 'allow-path');
    expect(g.allows(join(allowed, 'data.txt'), 'existing')).toBe(true);
    expect(g.allows(join(allowed, '..', 'outside.txt'), 'existing')).toBe(false);
    expect(g.allows(join(dir, 'outside.txt'), 'existing')).toBe(false);
    g.grantFile(join(dir, 'outside.txt'), 'dialog');
    expect(g.allows(join(dir, 'outside.txt'), 'existing')).toBe(true);
    g.revokeSource('dialog');
    expect(g.allows(join(dir, 'outside.txt'), 'existing')).toBe(false);
  });

  it('refuses symlinks that lead out of a granted folder', () => {
    const g = new PathGrants();
    g.grantDir(allowed, 'allow-path');
    expect(g.allows(join(allowed, 'sneaky.txt'), 'existing')).toBe(false);
    expect(g.allows(join(allowed, 'up', 'outside.txt'), 'existing')).toBe(false);
  });

  it('lets a save target be new in a granted folder, or the file a save dialog chose (with the extension added)', () => {
    const g = new PathGrants();
    g.grantDir(allowed, 'projects-folder');
    expect(g.allows(join(allowed, 'new.pythia-atlas'), 'target')).toBe(true);
    expect(g.allows(join(dir, 'new.pythia-atlas'), 'target')).toBe(false);
    grantChosen(g, 'save-project', join(dir, 'chosen'));
    expect(g.allows(join(dir, 'chosen.pythia-atlas'), 'target')).toBe(true);
    grantChosen(g, 'model-folder', join(dir, 'models'));
    expect(g.allows(join(dir, 'models', 'pythia', 'config.json'), 'existing')).toBe(true);
  });
});

describe('path arguments', () => {
  it('finds the paths of every call that takes one', () => {
    expect(pathArguments('openProject', { path: '/a' })).toEqual([
      { at: 'path', path: '/a', kind: 'existing' },
    ]);
    expect(pathArguments('saveProjectAs', { name: 'x' })).toEqual([]);
    expect(pathArguments('newProject', { path: '/n' })[0].kind).toBe('target');
    expect(
      pathArguments('queueRuns', {
        models: ['pythia-70m', 'EleutherAI/pythia-70m', '/models/m', './m'],
        tokenizer: '/t.json',
      }).map((p) => p.at),
    ).toEqual(['tokenizer', 'models[2]', 'models[3]']);
    expect(
      pathArguments('setSettings', { projectsDir: '/', modelDirs: ['/m'], tokenizer: null }).map((p) => p.at),
    ).toEqual(['projectsDir', 'modelDirs[0]']);
    expect(pathArguments('listRuns', {})).toEqual([]);
  });

  it('refuses the first path not granted, as forbidden', () => {
    const g = new PathGrants();
    g.grantDir(allowed, 'allow-path');
    expect(refusePaths(g, 'addDataset', { name: 'd', path: join(allowed, 'data.txt') }, 'h')).toBeNull();
    const r = refusePaths(g, 'addDataset', { name: 'd', path: '/etc/passwd' }, 'h');
    expect(r).toMatchObject({ ok: false, error: { code: 'forbidden', hint: 'h' } });
    expect(refusePaths(g, 'setSettings', { projectsDir: '/' }, 'h')?.ok).toBe(false);
  });
});

describe('asking the user (desktop app)', () => {
  it('puts a typed path to the user once; granted only when allowed', async () => {
    const g = new PathGrants();
    const asked: string[] = [];
    const args = { name: 'd', path: join(dir, 'outside.txt') };
    const no = await askForPaths(g, 'addDataset', args, async (p) => (asked.push(p.path), false), 'h');
    expect(no?.ok).toBe(false);
    const yes = await askForPaths(g, 'addDataset', args, async (p) => (asked.push(p.path), true), 'h');
    expect(yes).toBeNull();
    expect(await askForPaths(g, 'addDataset', args, async () => false, 'h')).toBeNull(); // remembered
    expect(asked).toEqual([join(dir, 'outside.txt'), join(dir, 'outside.txt')]);
    await askForPaths(g, 'setSettings', { modelDirs: [allowed] }, async () => true, 'h');
    expect(g.allows(join(allowed, 'data.txt'), 'existing')).toBe(true); // a folder is granted as a folder
  });
});

describe('browser mode', () => {
  it('refuses paths outside --allow-path and the projects folder over the WebSocket', async () => {
    process.env.PYTHIA_ATLAS_HOME = join(dir, 'home');
    const root = join(dir, 'renderer');
    mkdirSync(root);
    writeFileSync(join(root, 'index.html'), '<!doctype html>');
    const served = await serve({ rendererDir: root, engine: 'inline', allowPaths: [allowed] });
    const ws = new WebSocket(`ws://127.0.0.1:${served.port}/api?token=${served.token}`);
    await new Promise((r) => ws.on('open', r));
    let id = 0;
    const call = (method: string, args: unknown) =>
      new Promise<{ ok: boolean; error?: { code: string; message: string } }>((resolve) => {
        const my = ++id;
        const on = (d: WebSocket.RawData) => {
          const m = decode(d.toString()) as { id?: number; reply?: never };
          if (m.id === my) {
            ws.off('message', on);
            resolve(m.reply as never);
          }
        };
        ws.on('message', on);
        ws.send(encode({ id: my, method, args }));
      });
    try {
      expect((await call('newProject', { name: 'p' })).ok).toBe(true); // the projects folder
      for (const [method, args] of [
        ['addDataset', { name: 'x', path: '/etc/passwd' }],
        ['addDataset', { name: 'x', path: join(dir, 'outside.txt') }],
        ['openProject', { path: join(dir, 'outside.txt') }],
        ['saveProjectAs', { path: '/etc/passwd' }],
        ['setSettings', { projectsDir: '/' }],
      ] as const) {
        const r = await call(method, args);
        expect(r.error?.code).toBe('forbidden');
        expect(r.error?.message).toMatch(/was not chosen in a file dialog, dropped, or opened before/);
      }
      expect((await call('addDataset', { name: 'd.txt', path: join(allowed, 'data.txt') })).ok).toBe(true);
      expect((await call('saveProjectAs', { path: join(allowed, 'copy') })).ok).toBe(true);
    } finally {
      ws.close();
      await served.close();
    }
  });
});
