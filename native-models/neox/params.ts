// The GPT-NeoX parameter table: every Hugging Face parameter name a GPTNeoXForCausalLM holds, with
// its shape, as data (one place for the architecture's naming). Linear weights are [out, in] as in
// torch.nn.Linear. Reference: transformers models/gpt_neox/modeling_gpt_neox.py.

import { AtlasError } from '../errors.ts';
import type { StateDict } from '../weights/types.ts';
import type { NeoxConfig } from './config.ts';

export type ParamKind = 'embedding' | 'linear_weight' | 'linear_bias' | 'ln_weight' | 'ln_bias';

export interface ParamSpec {
  name: string;
  shape: number[];
  kind: ParamKind;
}

/** Names of one layer's parameters. */
export function layerParamNames(layer: number) {
  const p = `gpt_neox.layers.${layer}`;
  return {
    ln1Weight: `${p}.input_layernorm.weight`,
    ln1Bias: `${p}.input_layernorm.bias`,
    ln2Weight: `${p}.post_attention_layernorm.weight`,
    ln2Bias: `${p}.post_attention_layernorm.bias`,
    qkvWeight: `${p}.attention.query_key_value.weight`,
    qkvBias: `${p}.attention.query_key_value.bias`,
    denseWeight: `${p}.attention.dense.weight`,
    denseBias: `${p}.attention.dense.bias`,
    fcInWeight: `${p}.mlp.dense_h_to_4h.weight`,
    fcInBias: `${p}.mlp.dense_h_to_4h.bias`,
    fcOutWeight: `${p}.mlp.dense_4h_to_h.weight`,
    fcOutBias: `${p}.mlp.dense_4h_to_h.bias`,
  };
}

export const EMBED_IN = 'gpt_neox.embed_in.weight';
export const FINAL_LN_WEIGHT = 'gpt_neox.final_layer_norm.weight';
export const FINAL_LN_BIAS = 'gpt_neox.final_layer_norm.bias';
export const EMBED_OUT = 'embed_out.weight';

/** Every parameter, in the order transformers registers them. */
export function neoxParamSpecs(cfg: NeoxConfig): ParamSpec[] {
  const d = cfg.hiddenSize;
  const f = cfg.intermediateSize;
  const specs: ParamSpec[] = [{ name: EMBED_IN, shape: [cfg.vocabSize, d], kind: 'embedding' }];
  for (let l = 0; l < cfg.numLayers; l++) {
    const n = layerParamNames(l);
    specs.push(
      { name: n.ln1Weight, shape: [d], kind: 'ln_weight' },
      { name: n.ln1Bias, shape: [d], kind: 'ln_bias' },
      { name: n.ln2Weight, shape: [d], kind: 'ln_weight' },
      { name: n.ln2Bias, shape: [d], kind: 'ln_bias' },
      { name: n.qkvWeight, shape: [3 * d, d], kind: 'linear_weight' },
    );
    if (cfg.attentionBias) specs.push({ name: n.qkvBias, shape: [3 * d], kind: 'linear_bias' });
    specs.push({ name: n.denseWeight, shape: [d, d], kind: 'linear_weight' });
    if (cfg.attentionBias) specs.push({ name: n.denseBias, shape: [d], kind: 'linear_bias' });
    specs.push(
      { name: n.fcInWeight, shape: [f, d], kind: 'linear_weight' },
      { name: n.fcInBias, shape: [f], kind: 'linear_bias' },
      { name: n.fcOutWeight, shape: [d, f], kind: 'linear_weight' },
      { name: n.fcOutBias, shape: [d], kind: 'linear_bias' },
    );
  }
  specs.push(
    { name: FINAL_LN_WEIGHT, shape: [d], kind: 'ln_weight' },
    { name: FINAL_LN_BIAS, shape: [d], kind: 'ln_bias' },
    { name: EMBED_OUT, shape: [cfg.vocabSize, d], kind: 'embedding' },
  );
  return specs;
}

/** Check that a state dict holds every parameter with the right shape (extra keys are ignored). */
export function checkNeoxWeights(cfg: NeoxConfig, weights: StateDict): void {
  for (const spec of neoxParamSpecs(cfg)) {
    const t = weights.get(spec.name);
    if (!t)
      throw new AtlasError(
        `The checkpoint has no parameter '${spec.name}'; it does not match its config.json.`,
      );
    if (t.shape.length !== spec.shape.length || t.shape.some((s, i) => s !== spec.shape[i])) {
      throw new AtlasError(
        `Parameter '${spec.name}' has shape [${t.shape.join(', ')}], but config.json implies [${spec.shape.join(', ')}].`,
      );
    }
  }
}
