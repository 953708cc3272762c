// config.json in both spellings (the hub's Pythia keys and transformers 5's rope_parameters), read
// from the PyTorch fixtures whose manifests record the true rotary width and base; refusals by name.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AtlasError } from '../../../main/errors.ts';
import { headDim, parseNeoxConfig, rotaryDims } from '../../../native-models/neox/config-parse.ts';
import { FIXTURES_DIR } from './fixture.ts';

function fixture(name: string) {
  const dir = join(FIXTURES_DIR, name);
  return {
    config: JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>,
    shapes: (
      JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as { shapes: Record<string, number> }
    ).shapes,
  };
}

describe('parseNeoxConfig', () => {
  for (const name of ['tiny-neox', 'tiny-neox-3l']) {
    it(`reads ${name}'s config as the fixture's model was built`, () => {
      const { config, shapes } = fixture(name);
      const cfg = parseNeoxConfig(config);
      expect(cfg.numLayers).toBe(shapes.layers);
      expect(cfg.hiddenSize).toBe(shapes.d_model);
      expect(cfg.numHeads).toBe(shapes.heads);
      expect(headDim(cfg)).toBe(shapes.d_head);
      expect(cfg.intermediateSize).toBe(shapes.d_mlp);
      expect(cfg.vocabSize).toBe(shapes.vocab);
      expect(rotaryDims(cfg)).toBe(shapes.rotary_dims);
      expect(cfg.rotaryBase).toBe(shapes.rotary_base);
      expect(cfg.layerNormEps).toBe(1e-5);
      expect(cfg.useParallelResidual).toBe(true);
      expect(cfg.attentionBias).toBe(true);
    });
  }

  it('gives the same config for both spellings of the rotary keys', () => {
    const base = {
      model_type: 'gpt_neox',
      hidden_size: 64,
      num_attention_heads: 4,
      num_hidden_layers: 2,
      vocab_size: 100,
    };
    const hub = parseNeoxConfig({ ...base, rotary_pct: 0.5, rotary_emb_base: 500 });
    const hf5 = parseNeoxConfig({
      ...base,
      rope_parameters: { partial_rotary_factor: 0.5, rope_theta: 500, rope_type: 'default' },
    });
    expect(hf5).toEqual(hub);
    expect(hub.rotaryPct).toBe(0.5);
    expect(hub.intermediateSize).toBe(256);
    // Defaults are Pythia's.
    const bare = parseNeoxConfig(base);
    expect([bare.rotaryPct, bare.rotaryBase, bare.maxPositions, bare.useParallelResidual]).toEqual([
      0.25,
      10000,
      2048,
      true,
    ]);
  });

  it('refuses other architectures and unsupported settings by name', () => {
    const base = {
      model_type: 'gpt_neox',
      hidden_size: 64,
      num_attention_heads: 4,
      num_hidden_layers: 2,
      vocab_size: 100,
    };
    const refuse = (json: unknown, re: RegExp) => {
      let err: unknown;
      try {
        parseNeoxConfig(json);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(AtlasError);
      expect((err as Error).message).toMatch(re);
    };
    refuse({ ...base, model_type: 'llama', architectures: ['LlamaForCausalLM'] }, /'llama'/);
    refuse(
      { ...base, architectures: ['GPTNeoXForSequenceClassification'] },
      /GPTNeoXForSequenceClassification/,
    );
    refuse({ hidden_size: 64 }, /neither 'model_type' nor 'architectures'/);
    refuse({ ...base, hidden_act: 'relu' }, /'relu'/);
    refuse({ ...base, hidden_size: 66 }, /not divisible/);
    refuse({ ...base, rope_parameters: { rope_type: 'linear', factor: 2 } }, /rope type 'linear'/);
    refuse({ ...base, num_hidden_layers: undefined }, /num_hidden_layers/);
    refuse({ ...base, tie_word_embeddings: true }, /untied/);
    refuse([1, 2], /JSON object/);
  });
});
