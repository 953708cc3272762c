// Project API: datasets with their records, the run life cycle (complete only in the transaction
// that writes the last rows; reuse by configuration hash), interrupted runs (an exception mid-write,
// and a process that dies mid-transaction) leaving nothing visible as complete, typed tensors, NaN
// metrics, save-as / export copies that open with the same results, and metric insert speed.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { AtlasError } from '../../../main/errors.ts';
import { configHash } from '../../../main/library/config-hash.ts';
import { Project } from '../../../main/library/project.ts';
import type { MetricRow, RunSpec, TensorRow } from '../../../main/library/rows.ts';
import { readDataset } from '../../../main/data/readers.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'atlas-project-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;
const fresh = (): string => join(dir, `p${counter++}.pythia-atlas`);

const config = {
  model: 'pythia-70m',
  revision: 'step1000',
  dataset: 'abc',
  analyses: ['profile'],
  n: 4,
  seqLen: 16,
};
function spec(cfg: unknown = config): RunSpec {
  return {
    model: 'pythia-70m',
    revision: 'step1000',
    step: 1000,
    datasetId: null,
    analyses: ['profile'],
    seqLen: 16,
    prependBos: false,
    dtype: 'float32',
    device: 'cpu',
    config: cfg,
  };
}

function metricRows(n: number, analysis = 'profile'): MetricRow[] {
  return Array.from({ length: n }, (_, i) => ({
    analysis,
    metric: i % 2 ? 'mean' : 'rms',
    site: i % 3 ? 'resid_post' : null,
    layer: i % 3 ? i % 6 : null,
    head: null,
    position: i % 5 === 0 ? null : i,
    dim: null,
    value: Math.sin(i) * 100,
  }));
}

function tensors(): TensorRow[] {
  return [
    { name: 'profile/mean/resid_post', shape: [2, 3], data: new Float32Array([1, 2.5, -3, 4, 5, 1e-8]) },
    { name: 'massive/top/resid_post', shape: [3], data: new BigInt64Array([1n, -2n, 2n ** 40n]) },
    { name: 'geometry/cov/resid_post', shape: [2, 2], data: new Float64Array([1 / 3, 0.1, 0.1, Math.PI]) },
  ];
}

function fill(p: Project): number {
  const id = p.beginRun(spec());
  p.writeResults(
    id,
    {
      metrics: metricRows(50),
      tensors: tensors(),
      massiveEntries: [
        {
          layer: 2,
          site: 'resid_post',
          sequence: 0,
          position: 0,
          tokenId: 510,
          token: 'The',
          dim: 7,
          value: 1234.5,
        },
      ],
    },
    {
      complete: true,
      nSequences: 4,
      nTokens: 64,
      timings: { run: 1.5 },
      versions: { node: process.versions.node },
    },
  );
  return id;
}

describe('datasets', () => {
  it('stores records (or only a reference) and reads them back', async () => {
    const p = Project.create(fresh());
    const read = await readDataset(join(ROOT, '../shared/data/alpaca_5000.json'));
    const id = p.importDataset({ name: 'alpaca', source: 'alpaca_5000.json', read });
    const info = p.dataset(id)!;
    expect(info).toMatchObject({
      name: 'alpaca',
      kind: 'alpaca',
      nRecords: 5000,
      sha256: read.sha256,
      recordsStored: true,
    });
    expect(p.datasetRecords(id)).toEqual(read.records);
    expect(p.datasetRecords(id, 10, 2)).toEqual(read.records.slice(10, 12));
    expect(p.findDataset(read.sha256)?.id).toBe(id);
    const again = p.datasetAsRead(id);
    expect(again).toMatchObject({ kind: 'alpaca', field: null, sha256: read.sha256, bytes: read.bytes });
    expect(again.records).toEqual(read.records);
    const ref = p.addDataset({
      name: 'big',
      kind: 'jsonl',
      source: '/data/big.jsonl',
      sha256: 'f'.repeat(64),
      field: 'text',
      records: null,
      nRecords: 9,
    });
    expect(p.listDatasets().map((d) => d.id)).toEqual([id, ref]);
    expect(() => p.datasetRecords(ref)).toThrow(AtlasError);
    expect(p.findDataset('f'.repeat(64), 'text')?.id).toBe(ref);
    p.close();
  });
});

describe('runs', () => {
  it('completes in the writing transaction and is reused by configuration hash', () => {
    const path = fresh();
    const p = Project.create(path);
    expect(p.findCompleteRun(configHash(config))).toBeNull();
    const id = p.beginRun(spec());
    expect(p.run(id)?.status).toBe('running');
    expect(p.findCompleteRun(configHash(config))).toBeNull();
    p.writeResults(id, { metrics: metricRows(10) }); // a partial write: still running
    expect(p.run(id)?.status).toBe('running');
    expect(p.metrics({ runIds: [id] })).toEqual([]);
    expect(p.metrics({ runIds: [id], includeIncomplete: true })).toHaveLength(10);
    p.writeResults(
      id,
      { metrics: metricRows(5, 'massive'), tensors: tensors() },
      { complete: true, nTokens: 64, timings: { run: 2 } },
    );
    const run = p.run(id)!;
    expect(run).toMatchObject({
      status: 'complete',
      nTokens: 64,
      timings: { run: 2 },
      configHash: configHash(config),
      config,
    });
    expect(run.finished).not.toBeNull();
    p.close();
    const again = Project.open(path);
    const reordered = Object.fromEntries(Object.entries(config).reverse());
    expect(again.findCompleteRun(configHash(reordered))?.id).toBe(id);
    expect(again.findCompleteRun(configHash({ ...config, n: 5 }))).toBeNull();
    expect(again.metrics({ runIds: [id] })).toHaveLength(15);
    expect(() => again.writeResults(id, { metrics: metricRows(1) })).toThrow(/complete/);
    again.close();
  });

  it('an explicit configHash overrides the hash of config', () => {
    const p = Project.create(fresh());
    const id = p.beginRun({ ...spec({ everything: 'in the request' }), configHash: 'identity' });
    p.writeResults(id, {}, { complete: true });
    expect(p.findCompleteRun('identity')?.id).toBe(id);
    p.close();
  });

  it('an exception mid-write leaves the run not complete and writes none of that call', () => {
    const p = Project.create(fresh());
    const id = p.beginRun(spec());
    p.writeResults(id, { metrics: metricRows(7) });
    function* failing(): Generator<MetricRow> {
      yield* metricRows(1000);
      throw new Error('device lost');
    }
    expect(() => p.writeResults(id, { metrics: failing(), tensors: tensors() }, { complete: true })).toThrow(
      'device lost',
    );
    expect(p.run(id)?.status).toBe('running');
    expect(p.findCompleteRun(configHash(config))).toBeNull();
    expect(p.metrics()).toEqual([]);
    expect(p.metrics({ includeIncomplete: true })).toHaveLength(7);
    expect(p.tensorNames(id)).toEqual([]);
    // A bad row (NOT NULL analysis) mid-way also rolls the whole call back.
    const bad = [...metricRows(600), { ...metricRows(1)[0], analysis: null as unknown as string }];
    expect(() => p.writeResults(id, { metrics: bad }, { complete: true })).toThrow();
    expect(p.metrics({ includeIncomplete: true })).toHaveLength(7);
    p.failRun(id, 'device lost');
    expect(p.run(id)).toMatchObject({ status: 'failed', error: 'device lost' });
    expect(p.metrics({ includeIncomplete: true })).toEqual([]);
    const c = p.beginRun(spec());
    p.cancelRun(c);
    expect(p.run(c)?.status).toBe('cancelled');
    p.close();
  });

  it('a process that dies mid-transaction leaves a file whose run is not complete', () => {
    const path = fresh();
    const p = Project.create(path);
    const id = p.beginRun(spec());
    p.writeResults(id, { metrics: metricRows(3) });
    p.close();
    const script = join(dir, 'crash.mts'); // .mts: an ES module outside the package
    writeFileSync(
      script,
      `import { Project } from ${JSON.stringify(join(ROOT, 'main/library/project.ts'))};
       const p = Project.open(${JSON.stringify(path)});
       function* rows() {
         for (let i = 0; i < 200000; i++) {
           if (i === 150000) process.exit(3); // dies inside the transaction, journal on disk
           yield { analysis: 'a', metric: 'm', site: null, layer: null, head: null, position: i, dim: null, value: i };
         }
       }
       p.writeResults(${id}, { metrics: rows() }, { complete: true });`,
    );
    const res = spawnSync(process.execPath, [join(ROOT, 'bin/run-ts.js'), script], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(res.status).toBe(3);
    expect(readdirSync(dir).some((f) => f === `${path.split('/').pop()}-journal`)).toBe(true); // a hot journal
    const after = Project.open(path); // rolls the hot journal back
    expect(after.run(id)?.status).toBe('running');
    expect(after.metrics({ includeIncomplete: true })).toHaveLength(3);
    expect(after.markInterrupted()).toEqual([id]);
    expect(after.run(id)).toMatchObject({ status: 'failed', error: 'interrupted before it completed' });
    expect(after.metrics({ includeIncomplete: true })).toEqual([]);
    after.close();
  });
});

describe('results', () => {
  it('queries metrics by analysis, metric, site and layer, with NaN and null indices', () => {
    const p = Project.create(fresh());
    const id = fill(p);
    const nan = p.beginRun(spec({ other: true }));
    p.writeResults(
      nan,
      {
        metrics: [
          {
            analysis: 'x',
            metric: 'y',
            site: null,
            layer: null,
            head: 1,
            position: null,
            dim: 3,
            value: NaN,
          },
        ],
      },
      { complete: true },
    );
    const all = metricRows(50);
    const got = p.metrics({
      runIds: [id],
      analysis: 'profile',
      metric: 'mean',
      site: 'resid_post',
      layer: 1,
    });
    const want = all.filter((r) => r.metric === 'mean' && r.site === 'resid_post' && r.layer === 1);
    expect(got).toEqual(want.map((r) => ({ runId: id, ...r })));
    expect(p.metrics({ runIds: [id], site: null })).toHaveLength(all.filter((r) => r.site === null).length);
    expect(p.metrics({ runIds: [] })).toEqual([]);
    const [n] = p.metrics({ runIds: [nan] });
    expect(n).toMatchObject({ head: 1, dim: 3, site: null });
    expect(Number.isNaN(n.value)).toBe(true);
    expect(p.massiveEntries(id)).toEqual([
      {
        layer: 2,
        site: 'resid_post',
        sequence: 0,
        position: 0,
        tokenId: 510,
        token: 'The',
        dim: 7,
        value: 1234.5,
      },
    ]);
    p.close();
  });

  it('stores tensors with dtype and shape and returns the same typed arrays', () => {
    const p = Project.create(fresh());
    const id = fill(p);
    for (const t of tensors()) {
      const got = p.tensor(id, t.name)!;
      expect(got.shape).toEqual(t.shape);
      expect(got.data.constructor).toBe(t.data.constructor);
      expect(Array.from(got.data as ArrayLike<number | bigint>)).toEqual(
        Array.from(t.data as ArrayLike<number | bigint>),
      );
    }
    expect(p.tensor(id, 'nope')).toBeNull();
    const run = p.beginRun(spec({ y: 1 }));
    expect(() =>
      p.writeResults(run, { tensors: [{ name: 'bad', shape: [2, 2], data: new Float32Array(3) }] }),
    ).toThrow(/shape/);
    const v = p.addVector({
      name: 'caa',
      site: 'resid_post',
      layer: 3,
      data: new Float32Array([0.5, -1]),
      recipe: { kind: 'caa', alpha: 4 },
    });
    expect(p.vector(v)).toMatchObject({
      name: 'caa',
      layer: 3,
      recipe: { kind: 'caa', alpha: 4 },
      data: new Float32Array([0.5, -1]),
    });
    expect(p.listVectors().map((x) => x.id)).toEqual([v]);
    p.deleteRun(id);
    expect(p.tensorNames(id)).toEqual([]);
    p.close();
  });
});

describe('save as and export', () => {
  it('writes a complete copy that opens with the same results, atomically', () => {
    const path = fresh();
    const p = Project.create(path);
    const id = fill(p);
    const before = { runs: p.listRuns(), metrics: p.metrics(), tensor: p.tensor(id, tensors()[0].name) };
    const exported = fresh();
    writeFileSync(exported, "another program's file");
    expect(() => p.exportCopy(exported)).toThrow(/already exists/);
    expect(() => p.exportCopy(exported, { overwrite: true })).toThrow(/not a Pythia Atlas project/);
    expect(readFileSync(exported, 'utf8')).toBe("another program's file");
    rmSync(exported);
    p.exportCopy(exported);
    expect(p.path).toBe(path);
    const copy = Project.open(exported);
    expect(copy.listRuns()).toEqual(before.runs);
    expect(copy.metrics()).toEqual(before.metrics);
    expect(copy.tensor(id, tensors()[0].name)).toEqual(before.tensor);
    expect(copy.massiveEntries(id)).toEqual(p.massiveEntries(id));
    copy.close();
    const saved = fresh();
    p.saveAs(saved);
    expect(p.path).toBe(saved);
    p.setSetting('after', 'save-as'); // goes to the new file only
    expect(() => p.exportCopy(saved)).toThrow(/is the project that is open/);
    p.close();
    const original = Project.open(path);
    expect(original.setting('after')).toBeNull();
    expect(original.metrics()).toEqual(before.metrics);
    original.close();
    const reopened = Project.open(saved);
    expect(reopened.setting('after')).toBe('save-as');
    expect(reopened.listRuns()).toEqual(before.runs);
    reopened.close();
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(readFileSync(saved).toString('latin1', 68, 72)).toBe('PYAT');
  });
});

describe('speed', () => {
  it('inserts a million metric rows in one transaction in a few seconds', () => {
    const p = Project.create(fresh());
    const id = p.beginRun(spec());
    function* rows(): Generator<MetricRow> {
      for (let i = 0; i < 1_000_000; i++) {
        yield {
          analysis: 'profile',
          metric: 'rms',
          site: 'resid_post',
          layer: i % 24,
          head: null,
          position: i % 2048,
          dim: null,
          value: i * 0.001,
        };
      }
    }
    const t0 = performance.now();
    const counts = p.writeResults(id, { metrics: rows() }, { complete: true });
    const secs = (performance.now() - t0) / 1000;
    console.log(
      `1e6 metric rows inserted in ${secs.toFixed(2)} s (${Math.round(1e6 / secs).toLocaleString('en')} rows/s)`,
    );
    expect(counts.metrics).toBe(1_000_000);
    const { n } = p.database.prepare('SELECT COUNT(*) AS n FROM metrics WHERE run_id = ?').get(id) as {
      n: number;
    };
    expect(n).toBe(1_000_000);
    const t1 = performance.now();
    const layer5 = p.metrics({
      runIds: [id],
      analysis: 'profile',
      metric: 'rms',
      site: 'resid_post',
      layer: 5,
    });
    console.log(
      `query of one layer (${layer5.length} rows) in ${((performance.now() - t1) / 1000).toFixed(3)} s`,
    );
    expect(layer5.length).toBe(Math.ceil((1_000_000 - 5) / 24));
    expect(secs).toBeLessThan(20);
    p.close();
  });
});
