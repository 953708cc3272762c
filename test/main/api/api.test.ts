// The AtlasApi implementation in-process: projects (new, open, open from bytes, save as, recent),
// datasets (bytes and paths, bad records by number, choosing a field, token counts), and errors
// that come back as values with the right code instead of throwing.

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAtlasApi, type AtlasEngine } from '../../../main/api.ts';
import type { AtlasEvent, Result } from '../../../preload/api.ts';
import { dispatch } from '../../../main/transport/dispatch.ts';
import { loadTokenizer } from '../../../native-models/tokenizer/tokenizer.ts';

const TOKENIZER = resolve(__dirname, '../../../../shared/data/20B_tokenizer.json');
let dir: string;
let api: AtlasEngine;
const events: AtlasEvent[] = [];

function value<T>(r: Result<T>): T {
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.value;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'atlas-api-'));
  process.env.PYTHIA_ATLAS_HOME = join(dir, 'home');
  process.env.PYTHIA_ATLAS_CACHE = join(dir, 'cache');
  api = createAtlasApi({ host: 'test', emit: (e) => events.push(e), cacheDir: join(dir, 'hub') });
});

afterAll(async () => {
  await api.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const enc = (s: string) => new TextEncoder().encode(s);

describe('AtlasApi', () => {
  it('answers calls that need a project with a no-project error value', async () => {
    for (const r of [
      await api.listDatasets({}),
      await api.listRuns({}),
      await api.slice({ runId: 1, analysis: 'a', metric: 'm', site: null }),
    ]) {
      expect(r.ok).toBe(false);
      expect(!r.ok && r.error.code).toBe('no-project');
    }
    expect(value(await api.currentProject({}))).toBeNull();
  });

  it('creates a project by name in the projects folder and refuses to overwrite', async () => {
    const p = value(await api.newProject({ name: 'alpha' }));
    expect(p.path).toBe(join(dir, 'home', 'projects', 'alpha.pythia-atlas'));
    expect(existsSync(p.path)).toBe(true);
    expect(events.some((e) => e.type === 'project' && e.project?.path === p.path)).toBe(true);
    const again = await api.newProject({ name: 'alpha' });
    expect(!again.ok && again.error.code).toBe('user');
    expect(!again.ok && again.error.message).toMatch(/already exists/);
    const sneaky = value(await api.newProject({ name: '../../escape' }));
    expect(sneaky.path.startsWith(join(dir, 'home', 'projects'))).toBe(true);
    value(await api.openProject({ path: p.path }));
  });

  it('adds a dataset from bytes and keeps its bad records by number', async () => {
    const records = [
      { instruction: 'a', input: '', output: 'b' },
      { nope: 1 },
      { instruction: 'c', input: 'd', output: 'e' },
    ];
    const d = value(await api.addDataset({ name: 'al.json', bytes: enc(JSON.stringify(records)) }));
    expect(d.kind).toBe('alpaca');
    expect(d.nRecords).toBe(2);
    const p = value(await api.previewDataset({ datasetId: d.id }));
    expect(p.records.map((r) => r.number)).toEqual([1, 3]);
    expect(p.records[0].text).toContain('### Instruction:\na');
    expect(p.bad).toEqual([{ number: 2, reason: expect.stringMatching(/instruction/) }]);
    const same = value(await api.addDataset({ name: 'again.json', bytes: enc(JSON.stringify(records)) }));
    expect(same.id).toBe(d.id);
  });

  it('adds a dataset from a path and reports a missing file as a user error', async () => {
    const file = join(dir, 'lines.txt');
    writeFileSync(file, 'first paragraph\n\nsecond paragraph\n');
    const d = value(await api.addDataset({ name: 'lines.txt', path: file }));
    expect(d.nRecords).toBe(2);
    expect(d.source).toBe(file);
    const missing = await api.addDataset({ name: 'x.txt', path: join(dir, 'nope.txt') });
    expect(!missing.ok && missing.error.code).toBe('user');
    const both = await dispatch(api, 'addDataset', { name: 'x', path: file, bytes: enc('x') });
    expect(!both.ok && both.error.code).toBe('invalid-argument');
  });

  it('chooses another field of a CSV file as a dataset of its own', async () => {
    const csv = 'title,body\nT1,B1\nT2,B2\n"broken,x\n';
    const d = value(await api.addDataset({ name: 't.csv', bytes: enc(csv) }));
    expect(d.fields).toEqual(['title', 'body']);
    expect(d.field).toBe('title');
    const body = value(await api.setDatasetField({ datasetId: d.id, field: 'body' }));
    expect(body.id).not.toBe(d.id);
    expect(value(await api.previewDataset({ datasetId: body.id })).records.map((r) => r.text)).toEqual([
      'B1',
      'B2',
    ]);
    const bad = await api.setDatasetField({ datasetId: d.id, field: 'nope' });
    expect(!bad.ok && bad.error.message).toMatch(/no field "nope"/);
    const unknown = await api.previewDataset({ datasetId: 999 });
    expect(!unknown.ok && unknown.error.code).toBe('not-found');
  });

  it('counts tokens per record with the given tokenizer', async () => {
    const d = value(
      await api.addDataset({ name: 'c.txt', bytes: enc('Hello world\n\nThe cat sat on the mat.\n\nhello') }),
    );
    const noTok = await api.tokenCounts({ datasetId: d.id });
    expect(!noTok.ok && noTok.error.message).toMatch(/needs a tokenizer/);
    const c = value(await api.tokenCounts({ datasetId: d.id, tokenizer: TOKENIZER }));
    // Independent: FACTS.md gives these encodings (2, 7 and 1 tokens).
    expect(c.tokens).toBe(10);
    expect([c.records, c.min, c.max]).toEqual([3, 1, 7]);
    expect(c.counts.reduce((s, n) => s + n, 0)).toBe(3);
    const tok = await loadTokenizer(TOKENIZER);
    expect(tok.encode('The cat sat on the mat.')).toHaveLength(7);
  });

  it('saves as a copy, continues in it, and reopens the original', async () => {
    const original = value(await api.currentProject({})) as { path: string; datasets: number };
    const copy = value(await api.saveProjectAs({ name: 'alpha copy' }));
    expect(copy.path).toBe(join(dir, 'home', 'projects', 'alpha copy.pythia-atlas'));
    expect(copy.datasets).toBe(original.datasets);
    expect(value(await api.currentProject({}))?.path).toBe(copy.path);
    const reopened = value(await api.openProject({ path: original.path }));
    expect(reopened.datasets).toBe(original.datasets);
    const recent = value(await api.recentProjects({}));
    expect(recent.map((r) => r.path).slice(0, 2)).toEqual([original.path, copy.path]);
  });

  it('opens a project that arrives as bytes under a free name', async () => {
    const bytes = readFileSync(join(dir, 'home', 'projects', 'alpha.pythia-atlas'));
    const p = value(await api.openProjectBytes({ name: 'alpha.pythia-atlas', bytes }));
    expect(p.path).toBe(join(dir, 'home', 'projects', 'alpha (2).pythia-atlas'));
    expect(p.datasets).toBeGreaterThan(0);
    const junk = await api.openProjectBytes({ name: 'junk.pythia-atlas', bytes: enc('not sqlite at all') });
    expect(!junk.ok && junk.error.code).toBe('user');
  });

  it('lists the suites and the Pythia schedule, and no file dialog in this host', async () => {
    const suites = value(await api.suites({}));
    const pythia = suites.find((s) => s.name === 'Pythia');
    expect(pythia?.sizes.map((s) => s.model)).toContain('pythia-70m-deduped');
    const steps = value(await api.checkpoints({ model: 'pythia-70m' }));
    expect(steps).toHaveLength(154);
    expect(steps.slice(0, 12)).toEqual([0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000]);
    const dialog = await api.chooseFile({ purpose: 'dataset' });
    expect(!dialog.ok && dialog.error.code).toBe('unsupported');
    expect(value(await api.cachedCheckpoints({}))).toEqual([]);
  });
});

describe('sample project path', () => {
  it('is where `pythia-atlas demo` writes it', async () => {
    const { sampleProjectPath } = await import('../../../main/cli/demo.ts');
    const { defaultSamplePath } = await import('../../../main/services/paths.ts');
    expect(defaultSamplePath()).toBe(sampleProjectPath());
    const info = value(await api.hostInfo({}));
    expect(info.samplePath).toBe(sampleProjectPath());
    expect(info.sampleExists).toBe(false);
  });
});
