// Ordinary mistakes through the real CLI get one line and exit 1, never "This is a bug" (exit 70):
// a project in a missing folder, a read-only project file, a folder the user cannot write, /proc
// paths, a revision on a random model, an unknown --pack-weights, a damaged project; and a
// refused upload leaves no file.
// Permission cases run the CLI as 'nobody' when the tests run as root (root ignores modes).

import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createAtlasApi } from '../../../main/api.ts';
import { Project } from '../../../main/library/project.ts';

const ROOT = join(import.meta.dirname, '../../..');
const tmp = mkdtempSync(join(tmpdir(), 'atlas-friendly-'));
chmodSync(tmp, 0o755);
const shared = join(tmp, 'shared'); // writable by everyone: caches, home
mkdirSync(shared, { mode: 0o777 });
chmodSync(shared, 0o777);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const dataset = join(tmp, 'data.txt');
writeFileSync(dataset, 'hello there\n\ngeneral kenobi\n');
chmodSync(dataset, 0o644);
const asRoot = process.getuid?.() === 0;

function cli(args: string[], opts: { unprivileged?: boolean } = {}) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/pythia-atlas.js'), ...args], {
    encoding: 'utf8',
    cwd: tmp,
    env: {
      ...process.env,
      HOME: shared,
      PYTHIA_ATLAS_HOME: join(shared, 'home'),
      PYTHIA_ATLAS_CACHE: join(shared, 'cache'),
      HF_HUB_CACHE: join(shared, 'hub'),
      HF_HUB_OFFLINE: '1',
    },
    timeout: 60_000,
    ...(opts.unprivileged && asRoot ? { uid: 65534, gid: 65534 } : {}),
  });
  return { code: r.status, err: r.stderr };
}

function expectOneLine(r: { code: number | null; err: string }, re: RegExp): void {
  expect(r.err).toMatch(re);
  expect(r.code).toBe(1);
  expect(r.err).not.toMatch(/internal error|This is a bug|\n\s+at /);
  expect(r.err.trim().split('\n').length).toBeLessThanOrEqual(2); // the sentence and at most a hint
}

const run = (project: string, extra: string[] = []) => [
  'run',
  '--model',
  'random:pythia-14m',
  '--tokenizer',
  join(ROOT, '../shared/data/20B_tokenizer.json'),
  '--dataset',
  dataset,
  '--analyses',
  'profile',
  '--project',
  project,
  ...extra,
];

describe('friendly failures', () => {
  it('a project in a missing folder', () => {
    expectOneLine(
      cli(run(join(tmp, 'nope', 'p.pythia-atlas'))),
      /Cannot create the project .*: the folder .*nope does not exist/,
    );
    expect(existsSync(join(tmp, 'nope'))).toBe(false);
  });

  it('/proc paths', () => {
    expectOneLine(
      cli(run('/proc/self/p.pythia-atlas')),
      /Cannot create a project in \/proc: it is a system folder/,
    );
    expectOneLine(cli(run('/proc/self/environ')), /is not a Pythia Atlas project/);
  });

  it('a read-only project file', () => {
    const ro = join(shared, 'ro.pythia-atlas');
    Project.create(ro).close();
    chmodSync(ro, 0o444);
    expectOneLine(
      cli(run(ro), { unprivileged: true }),
      /Cannot (open|write to) the project .*ro\.pythia-atlas: .*read-only/,
    );
  });

  it('a folder the user cannot write', () => {
    const locked = join(tmp, 'locked');
    mkdirSync(locked, { mode: 0o555 });
    chmodSync(locked, 0o555);
    expectOneLine(
      cli(run(join(locked, 'p.pythia-atlas')), { unprivileged: true }),
      /Cannot create the project .*p\.pythia-atlas: /,
    );
    expect(readdirSync(locked)).toEqual([]);
  });

  it('a revision on a random model', () => {
    expectOneLine(
      cli(run(join(tmp, 'r.pythia-atlas'), ['--revision', 'step7'])),
      /random:pythia-14m has no revisions \(its weights are random\); drop --revision step7/,
    );
  });

  it('an unknown --pack-weights choice, before any project is made', () => {
    const project = join(tmp, 'pack.pythia-atlas');
    expectOneLine(
      cli(run(project, ['--pack-weights', 'yes'])),
      /--pack-weights must be one of auto, on, off, not 'yes'/,
    );
    expect(existsSync(project)).toBe(false);
  });

  it('a project with damaged b-tree pages: one sentence', () => {
    const path = join(tmp, 'damaged.pythia-atlas');
    const p = Project.create(path);
    const id = p.beginRun({
      model: 'm',
      revision: null,
      step: null,
      datasetId: null,
      analyses: ['a'],
      seqLen: 8,
      dtype: 'float32',
      prependBos: false,
      config: {},
    });
    p.writeResults(
      id,
      {
        metrics: Array.from({ length: 20000 }, (_, i) => ({
          analysis: 'a',
          metric: 'm',
          site: null,
          layer: null,
          head: null,
          position: i,
          dim: null,
          value: i,
        })),
      },
      { complete: true },
    );
    p.close();
    const size = statSync(path).size;
    const fd = openSync(path, 'r+');
    writeSync(fd, Buffer.alloc(4096 * 3, 0xa5), 0, 4096 * 3, Math.floor(size / 2 / 4096) * 4096);
    closeSync(fd);
    const r = cli(['emergence', '--project', path]);
    expectOneLine(r, /is not a Pythia Atlas project \(the file is damaged/);
    expect(r.err.split('\n')[0]).not.toMatch(/\*\*\*/);
  });

  it('a refused openProjectBytes upload leaves nothing in the projects folder', async () => {
    process.env.PYTHIA_ATLAS_HOME = join(tmp, 'api-home');
    const api = createAtlasApi({ host: 'test', emit: () => undefined, settingsFile: join(tmp, 's.json') });
    const r = await api.openProjectBytes({
      name: 'evil.pythia-atlas',
      bytes: new TextEncoder().encode('not sqlite'),
    });
    expect(!r.ok && r.error.code).toBe('user');
    expect(readdirSync(join(tmp, 'api-home', 'projects'))).toEqual([]);
    await api.dispose();
  });
});
