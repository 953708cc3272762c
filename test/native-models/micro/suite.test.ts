// The micro suite catalogue: Pythia's architecture scaled down, the recipe, the cache location and
// checkpoint layout (against a temporary directory), and its place in the composed catalogue.
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findSuiteModel, parseRevision } from '../../../native-models/hub/catalogue.ts';
import { AtlasError } from '../../../main/errors.ts';
import {
  MICRO_RECIPE,
  MICRO_SIZES,
  atlasCacheDir,
  isMicroModelName,
  listCachedMicroCheckpoints,
  microCheckpointDir,
  microNeoxConfig,
  microSteps,
  microSuiteModels,
  microTrainRecipe,
  microTrainingFlops,
} from '../../../native-models/micro/suite.ts';
import { buildCatalogue } from '../../../native-models/suites.ts';
import { MICRO_STEPS } from '../../../native-models/micro/schedule.ts';

/** Parameter shapes of a GPT-NeoX model in Hugging Face names, from the architecture alone. */
function neoxShapes(L: number, d: number, V: number): Map<string, number[]> {
  const m = new Map<string, number[]>([
    ['gpt_neox.embed_in.weight', [V, d]],
    ['gpt_neox.final_layer_norm.weight', [d]],
    ['gpt_neox.final_layer_norm.bias', [d]],
    ['embed_out.weight', [V, d]],
  ]);
  for (let l = 0; l < L; l++) {
    const p = `gpt_neox.layers.${l}`;
    for (const ln of ['input_layernorm', 'post_attention_layernorm']) {
      m.set(`${p}.${ln}.weight`, [d]);
      m.set(`${p}.${ln}.bias`, [d]);
    }
    m.set(`${p}.attention.query_key_value.weight`, [3 * d, d]);
    m.set(`${p}.attention.query_key_value.bias`, [3 * d]);
    m.set(`${p}.attention.dense.weight`, [d, d]);
    m.set(`${p}.attention.dense.bias`, [d]);
    m.set(`${p}.mlp.dense_h_to_4h.weight`, [4 * d, d]);
    m.set(`${p}.mlp.dense_h_to_4h.bias`, [4 * d]);
    m.set(`${p}.mlp.dense_4h_to_h.weight`, [d, 4 * d]);
    m.set(`${p}.mlp.dense_4h_to_h.bias`, [d]);
  }
  return m;
}
const numel = (s: number[]): number => s.reduce((a, b) => a * b, 1);

describe('micro sizes', () => {
  it('are Pythia scaled down: parallel residual, rotary 25%, d_mlp = 4d, 32-wide heads, growing', () => {
    expect(MICRO_SIZES.map((s) => s.name)).toEqual(['micro-s', 'micro-m', 'micro-l']);
    let prev = 0;
    for (const s of MICRO_SIZES) {
      const c = microNeoxConfig(s.name);
      expect(c.intermediateSize).toBe(4 * c.hiddenSize);
      expect(c.hiddenSize / c.numHeads).toBe(32);
      expect(c.rotaryPct).toBe(0.25);
      expect(c.useParallelResidual).toBe(true);
      expect(c.hiddenAct).toBe('gelu');
      expect(c.layerNormEps).toBe(1e-5);
      expect(c.vocabSize).toBe(MICRO_RECIPE.tokenizer.vocabSize);
      expect(c.maxPositions).toBe(MICRO_RECIPE.data.seqLen);
      expect(c.hiddenSize * c.numLayers).toBeGreaterThan(prev);
      prev = c.hiddenSize * c.numLayers;
    }
    expect(() => microNeoxConfig('micro-xl')).toThrow(AtlasError);
    expect(isMicroModelName(' Micro-M ')).toBe(true);
    expect(isMicroModelName('pythia-70m')).toBe(false);
  });

  it('catalogue rows count parameters like the GPT-NeoX state dict', () => {
    for (const row of microSuiteModels()) {
      const c = row.config;
      const shapes = neoxShapes(c.numLayers, c.hiddenSize, c.vocabSize);
      let total = 0;
      for (const s of shapes.values()) total += numel(s);
      expect(row.totalParams).toBe(total);
      expect(row.nonEmbeddingParams).toBe(total - 2 * c.vocabSize * c.hiddenSize);
      expect(row.steps).toEqual(MICRO_STEPS);
      // FLOPs: 6 per parameter touched by a token (non-embedding + unembedding) plus attention.
      const { seqLen, batchSize } = MICRO_RECIPE.data;
      const matmulParams = total - c.vocabSize * c.hiddenSize; // embed_in is a lookup
      const perToken = 6 * matmulParams + 12 * seqLen * c.hiddenSize * c.numLayers;
      expect(microTrainingFlops(row.name)).toBe(perToken * MICRO_RECIPE.steps * batchSize * seqLen);
    }
  });

  it('the recipe is Pythia-shaped and the same data for every size', () => {
    expect(MICRO_RECIPE.optimizer).toMatchObject({ beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 });
    expect(MICRO_RECIPE.warmupFraction).toBe(0.01);
    expect(MICRO_RECIPE.minLrRatio).toBe(0.1);
    const recipes = MICRO_SIZES.map((s) => microTrainRecipe(s.name));
    for (const r of recipes) expect(r.steps).toBe(MICRO_RECIPE.steps);
    expect(recipes.map((r) => r.peakLr)).toEqual(MICRO_SIZES.map((s) => s.lr));
    expect(microSteps()).toEqual(MICRO_STEPS);
  });
});

describe('cache layout', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('finds the cache from $PYTHIA_ATLAS_CACHE, else the platform cache directory', () => {
    expect(atlasCacheDir({ PYTHIA_ATLAS_CACHE: '/data/pa' }, 'linux', '/home/u')).toBe('/data/pa');
    expect(atlasCacheDir({}, 'linux', '/home/u')).toBe(join('/home/u', '.cache', 'pythia-atlas'));
    expect(atlasCacheDir({ XDG_CACHE_HOME: '/xdg' }, 'linux', '/home/u')).toBe(join('/xdg', 'pythia-atlas'));
    expect(atlasCacheDir({ PYTHIA_ATLAS_CACHE: ' ' }, 'darwin', '/Users/u')).toBe(
      join('/Users/u', 'Library', 'Caches', 'pythia-atlas'),
    );
    expect(atlasCacheDir({ LOCALAPPDATA: 'C:\\L' }, 'win32', 'C:\\U')).toBe(
      join('C:\\L', 'pythia-atlas', 'Cache'),
    );
  });

  it('puts checkpoints at <cache>/micro/<name>/step<N> and lists only complete ones', async () => {
    const cache = await mkdtemp(join(tmpdir(), 'micro-cache-'));
    dirs.push(cache);
    expect(microCheckpointDir('micro-s', 64, cache)).toBe(join(cache, 'micro', 'micro-s', 'step64'));
    expect(() => microCheckpointDir('micro-s', -1, cache)).toThrow(AtlasError);
    expect(await listCachedMicroCheckpoints('micro-s', cache)).toEqual([]);
    const write = async (step: number, files: string[]): Promise<void> => {
      const dir = microCheckpointDir('micro-s', step, cache);
      await mkdir(dir, { recursive: true });
      for (const f of files) await writeFile(join(dir, f), '{}');
    };
    const all = ['config.json', 'model.safetensors', 'tokenizer.json'];
    await write(128, all);
    await write(16, all);
    await write(2, ['config.json', 'tokenizer.json']); // partial: no weights
    await mkdir(join(cache, 'micro', 'micro-s', '.tmp-step4-1'), { recursive: true });
    expect(await listCachedMicroCheckpoints('micro-s', cache)).toEqual([16, 128]);
    expect(await listCachedMicroCheckpoints('micro-m', cache)).toEqual([]);
  });
});

describe('the composed catalogue', () => {
  it('holds the sizes after Pythia, with the micro schedule, and is what specs resolve with', () => {
    const m = buildCatalogue().find('micro-m');
    expect(findSuiteModel('micro-m')).toEqual(m);
    expect(m?.family).toBe('micro');
    expect(m?.repo).toBeNull();
    expect(parseRevision('main', m?.steps).step).toBe(MICRO_RECIPE.steps);
  });
});
