// The argument schemas that both hosts apply to every call: well-formed calls pass, and wrong
// shapes (missing fields, extra fields, wrong types, out-of-range numbers, oversized input,
// unknown methods, prototype tricks) are refused with a sentence naming the problem.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { checkCall, METHODS, SCHEMAS } from '../../../preload/schema.ts';
import { arr, num, obj, opt, str } from '../../../preload/validate.ts';

/** One well-formed argument object per call (also proves every call has a schema that accepts something). */
const GOOD: Record<string, unknown> = {
  hostInfo: {},
  getSettings: {},
  setSettings: { n: 32, device: 'cpu', tokenizer: null, modelDirs: ['/m'] },
  chooseFile: { purpose: 'dataset' },
  newProject: { name: 'x' },
  openProject: { path: '/tmp/a.pythia-atlas' },
  openProjectBytes: { name: 'a.pythia-atlas', bytes: new Uint8Array(4) },
  saveProjectAs: { path: '/tmp/b.pythia-atlas' },
  closeProject: {},
  currentProject: {},
  recentProjects: {},
  addDataset: { name: 'a.json', bytes: new Uint8Array([91, 93]) },
  listDatasets: {},
  previewDataset: { datasetId: 1, limit: 10 },
  setDatasetField: { datasetId: 1, field: 'text' },
  tokenCounts: { datasetId: 1 },
  suites: {},
  checkpoints: { model: 'pythia-70m' },
  cachedCheckpoints: {},
  localModels: {},
  analyses: {},
  startDownload: { model: 'pythia-70m', revision: 'step1000' },
  pauseDownload: { id: 'dl-1' },
  resumeDownload: { id: 'dl-1' },
  cancelDownload: { id: 'dl-1' },
  downloads: {},
  cacheSize: {},
  cacheBudget: {},
  evictCache: { capBytes: 1000 },
  checkpointFlags: { model: 'pythia-70m', scan: false },
  probeEngine: { url: 'http://localhost:8123', token: 't' },
  queueRuns: { models: ['pythia-70m'], revisions: ['step1000'], datasetId: 1, analyses: ['profile'], n: 8 },
  runJobs: {},
  cancelJob: { id: 'run-1' },
  listRuns: {},
  clearRunJobs: {},
  runSummaries: {},
  deleteRun: { runId: 1 },
  restoreRun: { runId: 1 },
  runMetricsCsv: { runId: 1 },
  metricKeys: { runIds: [1, 2] },
  slice: {
    runId: 1,
    analysis: 'profile',
    metric: 'rms',
    site: 'resid_post',
    rows: 'layer',
    cols: 'position',
  },
  sliceOverRuns: {
    runIds: [1, 2],
    analysis: 'profile',
    metric: 'rms',
    site: null,
    rows: 'layer',
    reduce: 'max',
  },
  acrossSizes: { runIds: [1], analysis: 'profile', metric: 'rms', site: 'resid_post' },
  tensors: { runId: 1 },
  tensor: { runId: 1, name: 'profile/x/resid_post' },
  massiveEntries: { runId: 1, limit: 10 },
  massiveGroups: { runId: 1, sort: 'count', desc: true, offset: 0, limit: 50 },
  shapeDescriptors: { runId: 1 },
  timelines: { datasetId: 1 },
  compare: { analysis: 'grads', metric: 'grad_rms', site: 'mlp_out', models: ['micro-m'], step: 512 },
  emergence: { site: 'resid_post', minSinkRate: 0.1 },
  cka: { runIds: [1, 2], site: 'resid_post', depth: 0.5 },
  listVectors: {},
  getVector: { name: 'v' },
  makeVector: {
    model: 'micro-s',
    site: 'resid_post',
    layer: 1,
    recipe: { kind: 'mean_diff', datasetId: 1, minusDatasetId: 2, at: 'last' },
  },
  previewVector: { model: 'micro-s', vector: 'v', scale: 2, prompt: 'The cat', positions: { from: 2 } },
  continueVector: {
    model: 'micro-s',
    vector: { data: new Float32Array(4), site: 'resid_post', layer: 0 },
    scale: 1,
    prompt: 'The cat',
    maxTokens: 8,
  },
  cancelVectorWork: { requestId: 'preview' },
  saveVector: { name: 'v', vector: 'w', overwrite: true },
  deleteVector: { name: 'v' },
  exportVector: { name: 'v' },
  importVector: { bytes: new Uint8Array(8) },
  vectorTimeline: { name: 'v', revisions: ['step64', 'step512'] },
};

describe('call schemas', () => {
  it('accept a well-formed call to every method', () => {
    expect(Object.keys(GOOD).sort()).toEqual([...METHODS].sort());
    for (const m of METHODS) expect(checkCall(m, GOOD[m]), m).toBeNull();
  });

  it('refuse unknown methods, including inherited property names', () => {
    expect(checkCall('deleteEverything', {})).toMatch(/unknown call/);
    expect(checkCall('constructor', {})).toMatch(/unknown call/);
    expect(checkCall('__proto__', {})).toMatch(/unknown call/);
    expect(checkCall(42, {})).toMatch(/unknown call/);
  });

  it('refuse a missing argument object or a non-object', () => {
    for (const m of METHODS) {
      expect(checkCall(m, undefined), m).toMatch(/must be an object/);
      expect(checkCall(m, [GOOD[m]]), m).toMatch(/must be an object/);
      expect(checkCall(m, 'x'), m).toMatch(/must be an object/);
    }
  });

  it('refuse unexpected fields on every method', () => {
    for (const m of METHODS) {
      expect(checkCall(m, { ...(GOOD[m] as object), sneaky: 1 }), m).toMatch(/unexpected field "sneaky"/);
    }
  });

  it('refuse objects with a prototype other than Object', () => {
    class Fake {
      path = '/tmp/a';
    }
    expect(checkCall('openProject', new Fake())).toMatch(/must be an object/);
    const withProto = JSON.parse('{"path": "/x", "__proto__": {"polluted": true}}') as unknown;
    expect(checkCall('openProject', withProto)).toMatch(/unexpected field "__proto__"/);
  });

  it('name the wrong field and why', () => {
    expect(checkCall('openProject', {})).toBe('arguments.path is required');
    expect(checkCall('openProject', { path: 7 })).toBe('arguments.path must be a string, not number');
    expect(checkCall('openProject', { path: '' })).toBe('arguments.path must not be empty');
    expect(checkCall('openProject', { path: 'a\0b' })).toBe('arguments.path must not contain NUL characters');
    expect(checkCall('slice', { ...(GOOD.slice as object), rows: 'layers' })).toMatch(
      /rows must be one of layer, head/,
    );
    expect(checkCall('slice', { ...(GOOD.slice as object), runId: -1 })).toBe(
      'arguments.runId must be at least 0',
    );
    expect(checkCall('slice', { ...(GOOD.slice as object), runId: 1.5 })).toBe(
      'arguments.runId must be an integer',
    );
    expect(checkCall('slice', { ...(GOOD.slice as object), runId: NaN })).toBe(
      'arguments.runId must be a finite number',
    );
    expect(checkCall('queueRuns', { ...(GOOD.queueRuns as object), models: [] })).toMatch(
      /models needs at least 1/,
    );
    expect(checkCall('queueRuns', { ...(GOOD.queueRuns as object), device: 'tpu' })).toMatch(
      /device must be one of/,
    );
    expect(checkCall('addDataset', { name: 'a', bytes: [1, 2] })).toBe(
      'arguments.bytes must be bytes, not an array',
    );
    expect(checkCall('setSettings', { modelDirs: ['/a', 3] })).toBe(
      'arguments.modelDirs[1] must be a string, not number',
    );
    expect(checkCall('slice', { ...(GOOD.slice as object), fix: { head: 'x' } })).toBe(
      'arguments.fix.head must be a finite number',
    );
  });

  it('take analysis options as identifier keys to scalars, bounded', () => {
    const q = (options: unknown) => checkCall('queueRuns', { ...(GOOD.queueRuns as object), options });
    expect(q({ sink_eps: 0.3, massive_threshold: 100, sites: 'resid_post,mlp_out', bos: true })).toBeNull();
    expect(q({})).toBeNull();
    expect(q({ 'not-an-id': 1 })).toMatch(/key "not-an-id" that is not an identifier/);
    expect(q({ __proto__x: 1, '1abc': 2 })).toMatch(/key "1abc"/);
    expect(q({ eps: [0.1] })).toBe('arguments.options.eps must be a string, a finite number or true/false');
    expect(q({ eps: { v: 1 } })).toMatch(/options.eps must be a string, a finite number/);
    expect(q({ eps: NaN })).toMatch(/options.eps must be/);
    expect(q({ eps: null })).toMatch(/options.eps must be/);
    expect(q({ s: 'x'.repeat(5000) })).toMatch(/options.s must be/);
    expect(q(Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`o${i}`, i])))).toMatch(
      /more than 64 entries/,
    );
    expect(q([1])).toMatch(/options must be an object, not an array/);
  });

  it('bound sizes', () => {
    expect(checkCall('openProject', { path: 'x'.repeat(5000) })).toMatch(/longer than 4096/);
    expect(checkCall('metricKeys', { runIds: new Array(5001).fill(1) })).toMatch(/more than 5000 items/);
  });

  it('every schema refuses arbitrary junk values that are not objects (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...METHODS),
        fc.oneof(
          fc.string(),
          fc.integer(),
          fc.double(),
          fc.boolean(),
          fc.constant(null),
          fc.array(fc.anything()),
        ),
        (m, junk) => SCHEMAS[m].check(junk, 'arguments') !== null,
      ),
    );
  });
});

describe('validator combinators', () => {
  it('treat optional fields as absent-or-valid', () => {
    const s = obj({ a: str(), b: opt(num({ min: 0 })) });
    expect(s.check({ a: 'x' }, 'v')).toBeNull();
    expect(s.check({ a: 'x', b: undefined }, 'v')).toBeNull();
    expect(s.check({ a: 'x', b: -1 }, 'v')).toBe('v.b must be at least 0');
  });

  it('report the index of a bad array item', () => {
    expect(arr(num({ int: true }), { max: 3 }).check([1, 2.5], 'xs')).toBe('xs[1] must be an integer');
    expect(arr(num(), { max: 1 }).check([1, 2], 'xs')).toBe('xs has more than 1 items');
  });
});
