// Seeded random GPT-NeoX weights with Hugging Face's initialisation (GPTNeoXPreTrainedModel
// `_init_weights`): Linear and Embedding weights ~ N(0, initializer_range = 0.02), biases 0,
// LayerNorm weight 1 and bias 0. Used for `random:<size>` specs and training from scratch. Each
// tensor draws from its own stream (seed mixed with the parameter name), so a tensor's values do not
// depend on which other tensors exist. Normals by the Box-Muller transform over xoshiro128**.

import { createRng, deriveSeed } from '../micro/rng.ts';
import type { StateDict } from '../weights/types.ts';
import type { NeoxConfig } from './config.ts';
import { neoxParamSpecs } from './params.ts';

export const INITIALIZER_RANGE = 0.02;

/** Fill `out` with N(0, std^2) draws from a seeded stream. */
export function fillNormal(out: Float32Array, seed: number, std: number): void {
  const rng = createRng(seed);
  for (let i = 0; i < out.length; i += 2) {
    // u1 in (0, 1] so log(u1) is finite.
    const u1 = (rng.nextU32() + 1) / 2 ** 32;
    const u2 = rng.nextU32() / 2 ** 32;
    const r = std * Math.sqrt(-2 * Math.log(u1));
    const a = 2 * Math.PI * u2;
    out[i] = r * Math.cos(a);
    if (i + 1 < out.length) out[i + 1] = r * Math.sin(a);
  }
}

/** Every parameter of a GPTNeoXForCausalLM with `cfg`, in HF names and shapes, from `seed`. */
export function randomNeoxWeights(cfg: NeoxConfig, seed = 0, std = INITIALIZER_RANGE): StateDict {
  const dict: StateDict = new Map();
  for (const spec of neoxParamSpecs(cfg)) {
    const data = new Float32Array(spec.shape.reduce((a, b) => a * b, 1));
    if (spec.kind === 'embedding' || spec.kind === 'linear_weight')
      fillNormal(data, deriveSeed(seed, spec.name), std);
    else if (spec.kind === 'ln_weight') data.fill(1);
    dict.set(spec.name, { shape: spec.shape, data });
  }
  return dict;
}
