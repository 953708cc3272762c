// The fuzz targets: each parses untrusted bytes the way the app does (safetensors, torch .bin
// zips, pickles, project files, datasets) from seeds generated here, valid inputs the mutator
// starts from. A case passes when the parser returns or throws an AtlasError (a clear sentence);
// any other exception, an allocation over the cap, or a file written outside the case's own
// temporary folder is a finding.

import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAtlasError } from '../../main/errors.ts';
import { asUserError } from '../../main/library/user-errors.ts';
import { parseDataset, type DatasetKind } from '../../main/data/readers.ts';
import { Project } from '../../main/library/project.ts';
import { memorySource } from '../../native-models/weights/byte-source.ts';
import { unpickle } from '../../native-models/weights/pickle.ts';
import { readSafetensors, writeSafetensors } from '../../native-models/weights/safetensors.ts';
import { readTorchBin } from '../../native-models/weights/torch-bin.ts';
import { craftTorchBin, statePickle } from '../native-models/weights/craft.ts';
import { exportVector, readVectorBytes } from '../../main/vectors/file.ts';

/** Growth of the process's resident memory allowed for one case. */
export const MEMORY_CAP_BYTES = 512 * 2 ** 20;

export interface Target {
  name: string;
  seeds: Uint8Array[];
  run(bytes: Uint8Array): Promise<void>;
  dispose?(): void;
}

/** Runs one case; throws (a finding) unless it returned or threw an AtlasError within the cap. */
export async function runCase(target: Target, bytes: Uint8Array): Promise<void> {
  const before = process.memoryUsage().rss;
  try {
    await target.run(bytes);
  } catch (e) {
    // What the user sees: an AtlasError, or an error the CLI and API turn into one sentence.
    if (!isAtlasError(e) && asUserError(e) === null) {
      const err = e instanceof Error ? e : new Error(String(e));
      err.message = `${target.name}: not an AtlasError (${err.name}: ${err.message})`;
      throw err;
    }
  }
  const grew = process.memoryUsage().rss - before;
  if (grew > MEMORY_CAP_BYTES) throw new Error(`${target.name}: resident memory grew by ${grew} bytes`);
}

async function safetensorsSeeds(dir: string): Promise<Uint8Array[]> {
  const p = join(dir, 'seed.safetensors');
  await writeSafetensors(
    p,
    new Map([
      ['a.weight', { dtype: 'F32' as const, shape: [2, 3], data: Float32Array.of(1, 2, 3, 4, 5, 6) }],
      ['b.bias', { dtype: 'F16' as const, shape: [4], data: Uint16Array.of(0x3c00, 0, 0x4000, 0xbc00) }],
      ['c', { dtype: 'I64' as const, shape: [2], data: BigInt64Array.of(1n, -1n) }],
    ]),
    { format: 'pt' },
  );
  return [new Uint8Array(readFileSync(p))];
}

function binSeeds(): Uint8Array[] {
  const t = (name: string, key: string, size: number[], stride: number[]) => ({
    name,
    key,
    numel: 6,
    offset: 0,
    size,
    stride,
  });
  const six = Float32Array.of(1, 2, 3, 4, 5, 6);
  return [
    craftTorchBin([t('w', '0', [2, 3], [3, 1]), t('v', '0', [3, 2], [1, 3])], { '0': six }),
    craftTorchBin(
      [t('w', '0', [6], [1]), t('b', '1', [2], [1])],
      { '0': six, '1': Float32Array.of(7, 8) },
      { deflate: true },
    ),
  ];
}

function pickleSeeds(): Uint8Array[] {
  return [
    statePickle([
      { name: 'w', key: '0', numel: 6, offset: 0, size: [2, 3], stride: [3, 1] },
      { name: 'v', key: '1', numel: 4, offset: 1, size: [3], stride: [1] },
    ]),
  ];
}

function projectSeed(dir: string): Uint8Array[] {
  const path = join(dir, 'seed.pythia-atlas');
  const p = Project.create(path);
  const read = parseDataset(new TextEncoder().encode('{"text": "hello"}\n{"text": "world"}\n'), {
    kind: 'jsonl',
  });
  const ds = p.importDataset({ name: 'd.jsonl', source: 'd.jsonl', read });
  const id = p.beginRun({
    model: 'random:pythia-14m',
    revision: null,
    step: null,
    datasetId: ds,
    analyses: ['profile'],
    seqLen: 8,
    dtype: 'float32',
    prependBos: false,
    config: { seed: 1 },
  });
  p.writeResults(
    id,
    {
      metrics: Array.from({ length: 40 }, (_, i) => ({
        analysis: 'profile',
        metric: 'rms',
        site: 'mlp_out',
        layer: i % 4,
        head: null,
        position: i,
        dim: null,
        value: i / 3,
      })),
      tensors: [{ name: 'profile/mean/mlp_out', shape: [2, 2], data: Float32Array.of(1, 2, 3, 4) }],
    },
    { complete: true },
  );
  p.close();
  return [new Uint8Array(readFileSync(path))];
}

const DATASETS: [DatasetKind, string][] = [
  ['jsonl', '{"text": "a"}\n{"text": "b", "n": 2}\n{"text": "c\\u00e9"}\n'],
  ['csv', 'text,label\n"hello, world",1\nplain,2\n"a ""quote""",3\n'],
  [
    'alpaca',
    '[{"instruction": "Say hi", "input": "", "output": "hi"}, {"instruction": "Add", "input": "1 2", "output": "3"}]',
  ],
  ['text', 'First paragraph.\nStill first.\n\nSecond paragraph.\n'],
];

/** A steering vector file as `vector export` writes it (main/vectors/file.ts). */
async function vectorFileSeeds(dir: string): Promise<Uint8Array[]> {
  const path = join(dir, 'seed-vector.safetensors');
  await exportVector(
    {
      id: 1,
      name: 'seed',
      site: 'resid_post',
      layer: 1,
      created: '',
      data: Float32Array.from([0.5, -1, 2, 0.25]),
      recipe: {
        format: 'pythia-atlas-vector/1',
        model: 'micro-s',
        revision: 'step64',
        source: { kind: 'typed' },
      },
    },
    path,
  );
  return [new Uint8Array(readFileSync(path))];
}

/** Every byte-level target, with seeds generated in `dir`. */
export async function makeTargets(dir: string): Promise<Target[]> {
  const projects = mkdtempSync(join(dir, 'projects-'));
  let n = 0;
  return [
    {
      name: 'safetensors',
      seeds: await safetensorsSeeds(dir),
      run: async (b) => void (await readSafetensors(memorySource(b), { what: 'fuzz.safetensors' })),
    },
    {
      name: 'torch-bin',
      seeds: binSeeds(),
      run: async (b) => void (await readTorchBin(memorySource(b), { what: 'fuzz.bin' })),
    },
    { name: 'pickle', seeds: pickleSeeds(), run: async (b) => void unpickle(b, { what: 'fuzz.pkl' }) },
    {
      name: 'project',
      seeds: projectSeed(dir),
      run: async (b) => {
        const caseDir = mkdtempSync(join(projects, `case-${n++}-`));
        const path = join(caseDir, 'p.pythia-atlas');
        writeFileSync(path, b);
        const checkOutside = () => {
          const left = readdirSync(projects);
          rmSync(caseDir, { recursive: true, force: true });
          if (left.length !== 1)
            throw new Error(`project: files written outside the case folder: ${left.join(', ')}`);
        };
        try {
          const p = Project.open(path);
          try {
            p.listRuns();
            for (const d of p.listDatasets()) if (d.recordsStored) p.datasetRecords(d.id, 0, 10);
            p.listVectors();
            p.setting('fuzz');
            p.metrics();
            for (const r of p.listRuns('complete')) for (const t of p.tensorNames(r.id)) p.tensor(r.id, t);
          } finally {
            p.close();
          }
        } catch (e) {
          checkOutside();
          throw e;
        }
        checkOutside();
      },
    },
    {
      name: 'vector-file',
      seeds: await vectorFileSeeds(dir),
      run: async (b) => void (await readVectorBytes(b, 'fuzz.safetensors')),
    },
    ...DATASETS.map(([kind, text]): Target => ({
      name: `dataset-${kind}`,
      seeds: [new TextEncoder().encode(text)],
      run: async (b) =>
        void parseDataset(b, { kind, field: kind === 'csv' || kind === 'jsonl' ? 'text' : undefined }),
    })),
  ];
}

/** A temporary folder for seeds and cases. */
export function fuzzDir(): string {
  return mkdtempSync(join(tmpdir(), 'atlas-fuzz-'));
}
