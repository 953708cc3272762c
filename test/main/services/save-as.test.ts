// Save as through the API never loses a file: an existing target is refused with code 'exists'
// (the file unchanged) until the call repeats with overwrite: true, and then only a project is
// replaced; a missing folder is refused, not created; another program's file is never replaced.

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAtlasApi, type AtlasEngine } from '../../../main/api.ts';
import type { Result } from '../../../preload/api.ts';
import { Project } from '../../../main/library/project.ts';

let dir: string;
let api: AtlasEngine;

function value<T>(r: Result<T>): T {
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.value;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'atlas-saveas-'));
  process.env.PYTHIA_ATLAS_HOME = join(dir, 'home');
  api = createAtlasApi({ host: 'test', emit: () => undefined, settingsFile: join(dir, 'settings.json') });
});

afterAll(async () => {
  await api.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('save as', () => {
  it('refuses to replace an existing project unless told overwrite: true', async () => {
    const other = Project.create(join(dir, 'other.pythia-atlas'));
    other.setSetting('mine', 'keep');
    other.close();
    const before = readFileSync(join(dir, 'other.pythia-atlas'));
    value(await api.newProject({ path: join(dir, 'a.pythia-atlas') }));
    const r = await api.saveProjectAs({ path: join(dir, 'other') });
    expect(!r.ok && r.error.code).toBe('exists');
    expect(!r.ok && r.error.message).toMatch(/other\.pythia-atlas already exists/);
    expect(readFileSync(join(dir, 'other.pythia-atlas')).equals(before)).toBe(true);
    const s = value(await api.saveProjectAs({ path: join(dir, 'other'), overwrite: true }));
    expect(s.path).toBe(join(dir, 'other.pythia-atlas'));
    const reopened = Project.open(s.path);
    expect(reopened.setting('mine')).toBeNull();
    reopened.close();
  });

  it('never replaces a file that is not a project, even with overwrite: true', async () => {
    const foreign = join(dir, 'notes.pythia-atlas');
    writeFileSync(foreign, 'not a project');
    const r = await api.saveProjectAs({ path: foreign, overwrite: true });
    expect(!r.ok && r.error.message).toMatch(/not a Pythia Atlas project/);
    expect(readFileSync(foreign, 'utf8')).toBe('not a project');
  });

  it('refuses a missing folder instead of creating it', async () => {
    const target = join(dir, 'no', 'such', 'folder', 'x.pythia-atlas');
    const r = await api.saveProjectAs({ path: target });
    expect(!r.ok && r.error.code).toBe('user');
    expect(!r.ok && r.error.message).toMatch(/does not exist/);
    expect(existsSync(join(dir, 'no'))).toBe(false);
    const n = await api.newProject({ path: target });
    expect(!n.ok && n.error.message).toMatch(/does not exist/);
    expect(existsSync(join(dir, 'no'))).toBe(false);
  });

  it('refuses a place it cannot write (/etc, /proc) in one sentence', async () => {
    value(await api.newProject({ path: join(dir, 'b.pythia-atlas') }));
    for (const target of ['/etc/passwd', '/proc/self/x']) {
      const r = await api.saveProjectAs({ path: target, overwrite: true });
      expect(r.ok).toBe(false);
      expect(!r.ok && r.error.code).toBe('user');
    }
    expect(existsSync('/etc/passwd.pythia-atlas')).toBe(false);
  });
});
