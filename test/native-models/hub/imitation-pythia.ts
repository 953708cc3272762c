// An imitation Pythia repository for the integrity scan's tests: a tiny GPT-NeoX (2 layers,
// d = 8, vocab 32) saved as safetensors at each step of a short schedule, served by the mock hub,
// with planted faults modelled on EleutherAI/pythia issues #83 (step0 = step1), #195/#205
// (identical branches apart in training; steps serving the final model; embeddings identical while
// the files differ), #206 (one shard shared with the final model) and a checkpoint saved in another
// dtype (a size that differs from the others). The expected flags are listed beside the plants.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NeoxConfig } from '../../../native-models/neox/config.ts';
import { neoxParamSpecs } from '../../../native-models/neox/params.ts';
import { writeSafetensors, type WritableTensor } from '../../../native-models/weights/safetensors.ts';
import { pseudoRandomBytes, type MockRepo } from './mock-hub.ts';

export const TINY_CFG: NeoxConfig = {
  numLayers: 2,
  hiddenSize: 8,
  numHeads: 2,
  intermediateSize: 32,
  vocabSize: 32,
  rotaryPct: 0.25,
  rotaryBase: 10000,
  layerNormEps: 1e-5,
  useParallelResidual: true,
  maxPositions: 64,
  hiddenAct: 'gelu',
  attentionBias: true,
};

export const TINY_PARAMS = neoxParamSpecs(TINY_CFG).reduce(
  (s, p) => s + p.shape.reduce((a, b) => a * b, 1),
  0,
);
export const TINY_STEPS = [0, 1, 2, 4, 8, 1000, 2000, 3000, 4000, 5000];
export const TINY_CONFIG_JSON = Buffer.from(
  JSON.stringify({
    model_type: 'gpt_neox',
    num_hidden_layers: 2,
    hidden_size: 8,
    num_attention_heads: 2,
    intermediate_size: 32,
    vocab_size: 32,
  }),
);

/** Deterministic values from a seed (a different tensor per seed), in [-0.1, 0.1) scaled by the seed. */
function values(n: number, seed: number): Float32Array {
  const bits = new Uint32Array(pseudoRandomBytes(4 * n, seed).buffer.slice(0));
  return Float32Array.from(bits, (x) => (x / 2 ** 32 - 0.5) * 0.2 * (1 + seed / 1000));
}

function toBf16(v: Float32Array): Uint16Array {
  const bits = new Uint32Array(v.buffer, v.byteOffset, v.length);
  return Uint16Array.from(bits, (b) => b >>> 16);
}

/** The checkpoint of `seed` as safetensors bytes; `embedSeed` makes the embeddings another seed's. */
export async function tinyCheckpoint(
  seed: number,
  o: { dtype?: 'BF16' | 'F32'; embedSeed?: number; only?: RegExp } = {},
): Promise<Buffer> {
  const dict = new Map<string, WritableTensor>();
  for (const [i, p] of neoxParamSpecs(TINY_CFG).entries()) {
    if (o.only && !o.only.test(p.name)) continue;
    const n = p.shape.reduce((a, b) => a * b, 1);
    const s = p.kind === 'embedding' && o.embedSeed !== undefined ? o.embedSeed : seed;
    const v = values(n, s * 100 + i + 1);
    dict.set(
      p.name,
      o.dtype === 'F32'
        ? { dtype: 'F32', shape: p.shape, data: v }
        : { dtype: 'BF16', shape: p.shape, data: toBf16(v) },
    );
  }
  const dir = mkdtempSync(join(tmpdir(), 'atlas-tiny-'));
  try {
    const path = join(dir, 'model.safetensors');
    await writeSafetensors(path, dict);
    return readFileSync(path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const file = (path: string, content: Uint8Array) => ({ path, content });

/**
 * The imitation `EleutherAI/pythia-tiny` (single-file safetensors) with its planted faults, and the
 * flags a correct scan must give (every other step: none).
 */
export async function plantedRepo(repo = 'EleutherAI/pythia-tiny'): Promise<{
  repo: MockRepo;
  expected: Record<string, string[]>;
  bytes: Record<string, Buffer>;
}> {
  const bytes: Record<string, Buffer> = {};
  for (const step of TINY_STEPS) bytes[`step${step}`] = await tinyCheckpoint(step + 1);
  bytes.step1 = bytes.step0; // #83: step0 = step1 (adjacent: duplicate only)
  bytes.step4000 = bytes.step2000; // identical with step3000 differing between: duplicate + misplaced
  bytes.step3000 = await tinyCheckpoint(3001, { embedSeed: 1001 }); // #205: embeddings of step1000, files differ
  bytes.step4 = await tinyCheckpoint(5, { dtype: 'F32' }); // saved in another dtype: size differs
  bytes.main = bytes.step5000;
  bytes.step8 = bytes.main; // #205: a step serving the final model (and identical to step5000 across steps)
  const revisions: MockRepo['revisions'] = {};
  for (const [rev, b] of Object.entries(bytes)) {
    revisions[rev] = [file('config.json', TINY_CONFIG_JSON), file('model.safetensors', b)];
  }
  const expected: Record<string, string[]> = {
    step0: ['duplicate'],
    step1: ['duplicate'],
    step4: ['size'],
    step8: ['duplicate', 'misplaced', 'misplaced'],
    step2000: ['duplicate', 'misplaced'],
    step1000: [], // with weight statistics: misplaced (embeddings = step3000)
    step3000: [], // with weight statistics: misplaced (embeddings = step1000)
    step4000: ['duplicate', 'misplaced'],
    step5000: ['duplicate'], // the final model (= main) is trusted; step8 is the misplaced one
  };
  return { repo: { repo, revisions }, expected, bytes };
}

/**
 * A sharded imitation (`model-0000i-of-00002.safetensors`, #206): step2000's first shard is the
 * final model's while its second shard is its own.
 */
export async function shardedRepo(repo = 'EleutherAI/pythia-tiny-sharded'): Promise<{
  repo: MockRepo;
  expected: Record<string, string[]>;
}> {
  const first = /embed_in|layers\.0\./;
  const revisions: MockRepo['revisions'] = {};
  const shards: Record<string, [Buffer, Buffer]> = {};
  for (const step of [...TINY_STEPS, 'main' as const]) {
    const seed = step === 'main' ? 5001 : step + 1;
    shards[step === 'main' ? 'main' : `step${step}`] = [
      await tinyCheckpoint(seed, { only: first }),
      await tinyCheckpoint(seed, { only: new RegExp(`^(?!.*(${first.source}))`) }),
    ];
  }
  shards.step2000 = [shards.main[0], shards.step2000[1]];
  for (const [rev, [a, b]] of Object.entries(shards)) {
    const index = {
      weight_map: {
        'gpt_neox.embed_in.weight': 'model-00001-of-00002.safetensors',
        'embed_out.weight': 'model-00002-of-00002.safetensors',
      },
    };
    revisions[rev] = [
      file('config.json', TINY_CONFIG_JSON),
      file('model.safetensors.index.json', Buffer.from(JSON.stringify(index))),
      file('model-00001-of-00002.safetensors', a),
      file('model-00002-of-00002.safetensors', b),
    ];
  }
  return { repo: { repo, revisions }, expected: { step2000: ['misplaced'], step5000: [] } };
}
