// Tests for the suite catalogue: architectures against the formula and the model cards' published
// parameter counts, the checkpoint schedule against its definition, revision parsing and its
// errors, name resolution, a catalogue composed of several suites, and the installed catalogue.
import { describe, expect, it, vi } from 'vitest';
import { AtlasError } from '../../../main/errors.ts';
import {
  PYTHIA_CARD_PARAMS,
  PYTHIA_STEPS,
  Catalogue,
  findSuiteModel,
  listSuiteModels,
  parseRevision,
  pythiaConfig,
  pythiaModelsList,
  pythiaSuite,
  resolveSuiteName,
  stepOfRevision,
} from '../../../native-models/hub/catalogue.ts';

/** Counts parameters by listing every GPT-NeoX tensor shape, independent of the closed formula. */
function countByTensors(L: number, d: number, vocab: number): { nonEmbedding: number; total: number } {
  const perLayer = [
    [d], // input_layernorm.weight
    [d], // input_layernorm.bias
    [d], // post_attention_layernorm.weight
    [d], // post_attention_layernorm.bias
    [3 * d, d], // attention.query_key_value.weight
    [3 * d], // attention.query_key_value.bias
    [d, d], // attention.dense.weight
    [d], // attention.dense.bias
    [4 * d, d], // mlp.dense_h_to_4h.weight
    [4 * d], // mlp.dense_h_to_4h.bias
    [d, 4 * d], // mlp.dense_4h_to_h.weight
    [d], // mlp.dense_4h_to_h.bias
  ];
  const size = (s: number[]): number => s.reduce((a, b) => a * b, 1);
  const nonEmbedding = L * perLayer.reduce((a, s) => a + size(s), 0) + 2 * d; // + final_layer_norm
  return { nonEmbedding, total: nonEmbedding + vocab * d * 2 }; // embed_in + embed_out (untied)
}

describe('Pythia catalogue', () => {
  it('has ten sizes, each with a deduped twin, under EleutherAI/', () => {
    const sizes = ['14m', '31m', '70m', '160m', '410m', '1b', '1.4b', '2.8b', '6.9b', '12b'];
    const ms = pythiaModelsList();
    expect(ms).toHaveLength(20);
    for (const s of sizes) {
      expect(ms.find((m) => m.name === `pythia-${s}`)?.repo).toBe(`EleutherAI/pythia-${s}`);
      expect(ms.find((m) => m.name === `pythia-${s}-deduped`)?.repo).toBe(`EleutherAI/pythia-${s}-deduped`);
    }
  });

  it('uses the shared Pythia hyperparameters with d_mlp = 4d', () => {
    for (const m of pythiaModelsList()) {
      const c = m.config;
      expect(c.intermediateSize).toBe(4 * c.hiddenSize);
      expect(c.hiddenSize % c.numHeads).toBe(0);
      expect([c.rotaryPct, c.rotaryBase, c.layerNormEps, c.maxPositions]).toEqual([0.25, 10000, 1e-5, 2048]);
      expect(c.useParallelResidual).toBe(true);
      expect(c.attentionBias).toBe(true);
      expect(c.hiddenAct).toBe('gelu');
    }
    const c70 = resolveSuiteName('pythia-70m').config;
    expect([c70.numLayers, c70.hiddenSize, c70.numHeads, c70.vocabSize]).toEqual([6, 512, 8, 50304]);
    expect(resolveSuiteName('pythia-6.9b').config.vocabSize).toBe(50432);
    expect(resolveSuiteName('pythia-12b-deduped').config.vocabSize).toBe(50688);
  });

  it('counts parameters as the tensor shapes and the model cards do', () => {
    for (const m of pythiaModelsList()) {
      const byTensors = countByTensors(m.config.numLayers, m.config.hiddenSize, m.config.vocabSize);
      expect(m.nonEmbeddingParams).toBe(byTensors.nonEmbedding);
      expect(m.totalParams).toBe(byTensors.total);
      const card = PYTHIA_CARD_PARAMS.get(m.size);
      expect(card?.nonEmbedding).toBe(m.nonEmbeddingParams);
      if (card?.total != null) expect(m.totalParams).toBe(card.total);
    }
  });

  it('lists the 154 checkpoints: 0, powers of two to 512, then every 1000 to 143000', () => {
    const expected = new Set<number>([0]);
    for (let p = 1; p <= 512; p *= 2) expected.add(p);
    for (let s = 1000; s <= 143000; s += 1000) expected.add(s);
    expect(PYTHIA_STEPS).toHaveLength(154);
    expect(new Set(PYTHIA_STEPS)).toEqual(expected);
    expect([...PYTHIA_STEPS]).toEqual([...expected].sort((a, b) => a - b));
  });
});

describe('parseRevision', () => {
  it('accepts stepN, N and main', () => {
    expect(parseRevision('step3000')).toEqual({ step: 3000, revision: 'step3000' });
    expect(parseRevision('512')).toEqual({ step: 512, revision: 'step512' });
    expect(parseRevision('step0')).toEqual({ step: 0, revision: 'step0' });
    expect(parseRevision('main')).toEqual({ step: 143000, revision: 'step143000' });
    expect(parseRevision(' Step1 ')).toEqual({ step: 1, revision: 'step1' });
  });

  it('refuses steps that were not saved, naming the nearest', () => {
    const cases: [string, string[]][] = [
      ['1500', ['step1000', 'step2000']],
      ['step3', ['step2', 'step4']],
      ['step700', ['step512', 'step1000']],
      ['200000', ['step143000']],
    ];
    for (const [spec, near] of cases) {
      let err: unknown;
      try {
        parseRevision(spec);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(AtlasError);
      const msg = (err as AtlasError).message;
      for (const n of near) expect(msg).toContain(n);
      expect((err as AtlasError).hint).toContain('step143000');
    }
    expect(() => parseRevision('latest')).toThrow(AtlasError);
    expect(() => parseRevision('step-1')).toThrow(AtlasError);
  });

  it('checks against a custom schedule', () => {
    expect(parseRevision('main', [0, 10, 20])).toEqual({ step: 20, revision: 'step20' });
    expect(() => parseRevision('15', [0, 10, 20])).toThrow(/step10 and step20/);
  });

  it('reads the step back from a revision name', () => {
    expect(stepOfRevision('step42000')).toBe(42000);
    expect(stepOfRevision('main')).toBeNull();
  });
});

describe('resolveSuiteName', () => {
  it('resolves names and hub ids case-insensitively', () => {
    expect(resolveSuiteName('pythia-70m').repo).toBe('EleutherAI/pythia-70m');
    expect(resolveSuiteName('Pythia-70M-Deduped').name).toBe('pythia-70m-deduped');
    expect(resolveSuiteName('eleutherai/PYTHIA-1.4b').name).toBe('pythia-1.4b');
    expect(resolveSuiteName('EleutherAI/pythia-12b-deduped').deduped).toBe(true);
  });

  it('lists the valid names for an unknown one', () => {
    expect(() => resolveSuiteName('pythia-7b')).toThrow(AtlasError);
    expect(() => resolveSuiteName('pythia-7b')).toThrow(
      /pythia-14m, pythia-14m-deduped, .*pythia-12b-deduped/,
    );
  });
});

describe('Catalogue', () => {
  it('composes an offline suite beside Pythia that resolves by name, and rejects duplicates', () => {
    const xs = [
      {
        name: 'micro-test-xs',
        repo: null,
        family: 'micro',
        size: 'xs',
        deduped: false,
        config: pythiaConfig(2, 32, 4, 512),
        steps: [100, 0, 50],
        nonEmbeddingParams: 0,
        totalParams: 0,
      },
    ];
    const catalogue = new Catalogue([pythiaSuite(), xs]);
    expect(catalogue.list()).toHaveLength(pythiaSuite().length + 1);
    const m = catalogue.resolve('MICRO-test-xs');
    expect(m.steps).toEqual([0, 50, 100]);
    expect(parseRevision('main', m.steps)).toEqual({ step: 100, revision: 'step100' });
    expect(catalogue.find('micro-test-xs')?.family).toBe('micro');
    expect(catalogue.find('EleutherAI/Pythia-70m')?.name).toBe('pythia-70m');
    expect(() => new Catalogue([xs, [{ ...m }]])).toThrow(/listed twice/);
    expect(() => new Catalogue([pythiaSuite(), pythiaSuite().slice(0, 1)])).toThrow(/listed twice/);
    expect(() => new Catalogue([[{ ...m, steps: [] }]])).toThrow(/no checkpoint steps/);
  });
});

describe('the installed catalogue', () => {
  it('is the one the test setup composed: Pythia, then the micro suite', () => {
    const names = listSuiteModels().map((m) => m.name);
    expect(names.slice(0, pythiaModelsList().length)).toEqual(pythiaModelsList().map((m) => m.name));
    expect(names.slice(-3)).toEqual(['micro-s', 'micro-m', 'micro-l']);
    expect(findSuiteModel('micro-s')?.family).toBe('micro');
  });

  it('is an error to resolve before a composition root installed one', async () => {
    vi.resetModules();
    const fresh = await import('../../../native-models/hub/catalogue.ts');
    expect(() => fresh.findSuiteModel('pythia-70m')).toThrow(/not composed/);
    vi.resetModules();
  });
});
