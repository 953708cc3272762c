// Random weights: exactly the parameter names and shapes of a transformers GPTNeoXForCausalLM (the
// fixture's checkpoint lists them), Hugging Face's init statistics, and determinism by seed.

import { describe, expect, it } from 'vitest';
import { parseNeoxConfig } from '../../../native-models/neox/config-parse.ts';
import { randomNeoxWeights } from '../../../native-models/neox/random.ts';
import { loadFixture } from './fixture.ts';

describe('randomNeoxWeights', () => {
  it('has the names and shapes of the PyTorch checkpoint', async () => {
    for (const name of ['tiny-neox', 'tiny-neox-3l']) {
      const fx = await loadFixture(name);
      const w = randomNeoxWeights(fx.config, 7);
      expect([...w.keys()].sort()).toEqual([...fx.manifest.parameter_names].sort());
      for (const [k, t] of fx.weights) expect(w.get(k)?.shape, k).toEqual(t.shape);
    }
  });

  it('draws N(0, 0.02) weights, zero biases and unit LayerNorm scales, deterministically', () => {
    const cfg = parseNeoxConfig({
      model_type: 'gpt_neox',
      hidden_size: 64,
      num_attention_heads: 4,
      num_hidden_layers: 2,
      vocab_size: 500,
    });
    const a = randomNeoxWeights(cfg, 3);
    const b = randomNeoxWeights(cfg, 3);
    const c = randomNeoxWeights(cfg, 4);
    const emb = a.get('gpt_neox.embed_in.weight')!.data;
    expect(Buffer.from(emb.buffer).equals(Buffer.from(b.get('gpt_neox.embed_in.weight')!.data.buffer))).toBe(
      true,
    );
    expect(Buffer.from(emb.buffer).equals(Buffer.from(c.get('gpt_neox.embed_in.weight')!.data.buffer))).toBe(
      false,
    );
    // 32,000 draws: the sample std is within 2% of 0.02 and the mean within 5 standard errors of 0.
    const n = emb.length;
    const mean = emb.reduce((s, v) => s + v, 0) / n;
    const std = Math.sqrt(emb.reduce((s, v) => s + (v - mean) ** 2, 0) / n);
    expect(Math.abs(std - 0.02)).toBeLessThan(0.02 * 0.02);
    expect(Math.abs(mean)).toBeLessThan((5 * 0.02) / Math.sqrt(n));
    // Kurtosis of a normal is 3 (a uniform would give 1.8).
    const kurt = emb.reduce((s, v) => s + (v - mean) ** 4, 0) / n / std ** 4;
    expect(Math.abs(kurt - 3)).toBeLessThan(0.15);
    // Different tensors are different streams.
    const q0 = a.get('gpt_neox.layers.0.attention.query_key_value.weight')!.data;
    const q1 = a.get('gpt_neox.layers.1.attention.query_key_value.weight')!.data;
    expect(q0[0]).not.toBe(q1[0]);
    expect(a.get('gpt_neox.layers.0.attention.query_key_value.bias')!.data.every((v) => v === 0)).toBe(true);
    expect(a.get('gpt_neox.layers.1.input_layernorm.weight')!.data.every((v) => v === 1)).toBe(true);
    expect(a.get('gpt_neox.final_layer_norm.bias')!.data.every((v) => v === 0)).toBe(true);
  });
});
