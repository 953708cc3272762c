// Parse a Hugging Face GPT-NeoX config.json into a NeoxConfig. Two spellings exist: the hub's
// Pythia repositories (`rotary_pct`, `rotary_emb_base`) and transformers >= 5 `save_pretrained`
// (`rope_parameters: { partial_rotary_factor, rope_theta }`, FACTS.md). Unknown keys are tolerated
// (tuned-lens habit); a different architecture is refused by name. Reference: transformers
// `GPTNeoXConfig` (models/gpt_neox/configuration_gpt_neox.py).

import { AtlasError } from '../errors.ts';
import type { NeoxConfig } from './config.ts';

type Json = Record<string, unknown>;

function isObject(x: unknown): x is Json {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function num(cfg: Json, key: string, fallback?: number): number {
  const v = cfg[key];
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    throw new AtlasError(`config.json has no '${key}'; it is needed to build a GPT-NeoX model.`);
  }
  throw new AtlasError(`config.json key '${key}' should be a number, not ${JSON.stringify(v)}.`);
}

function positiveInt(cfg: Json, key: string, fallback?: number): number {
  const v = num(cfg, key, fallback);
  if (!Number.isInteger(v) || v <= 0)
    throw new AtlasError(`config.json key '${key}' should be a positive integer, not ${v}.`);
  return v;
}

function bool(cfg: Json, key: string, fallback: boolean): boolean {
  const v = cfg[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v === 'boolean') return v;
  throw new AtlasError(`config.json key '${key}' should be true or false, not ${JSON.stringify(v)}.`);
}

/** Read rotary fraction and base from either spelling (rope_parameters wins when both exist). */
function rotary(cfg: Json): { pct: number; base: number } {
  const rp = cfg.rope_parameters ?? cfg.rope_scaling;
  let pct = typeof cfg.rotary_pct === 'number' ? cfg.rotary_pct : undefined;
  let base = typeof cfg.rotary_emb_base === 'number' ? cfg.rotary_emb_base : undefined;
  if (isObject(rp)) {
    const type = rp.rope_type ?? rp.type;
    if (type !== undefined && type !== 'default') {
      throw new AtlasError(
        `config.json asks for rope type '${String(type)}'; only the default rotary embedding of Pythia is supported.`,
      );
    }
    if (typeof rp.partial_rotary_factor === 'number') pct = rp.partial_rotary_factor;
    if (typeof rp.rope_theta === 'number') base = rp.rope_theta;
  }
  if (typeof cfg.partial_rotary_factor === 'number' && pct === undefined) pct = cfg.partial_rotary_factor;
  if (typeof cfg.rope_theta === 'number' && base === undefined) base = cfg.rope_theta;
  pct ??= 0.25;
  base ??= 10000;
  if (!(pct > 0 && pct <= 1)) throw new AtlasError(`config.json rotary fraction ${pct} is outside (0, 1].`);
  if (!(base > 0)) throw new AtlasError(`config.json rotary base ${base} should be positive.`);
  return { pct, base };
}

/** Parse config.json (already JSON.parse'd). Throws AtlasError on a non-GPT-NeoX or malformed config. */
export function parseNeoxConfig(json: unknown): NeoxConfig {
  if (!isObject(json)) throw new AtlasError('config.json should hold a JSON object.');
  const archs = json.architectures;
  const modelType = json.model_type;
  if (modelType !== undefined && modelType !== 'gpt_neox') {
    throw new AtlasError(
      `config.json describes a '${String(modelType)}' model; only GPT-NeoX (Pythia) models are supported.`,
    );
  }
  if (Array.isArray(archs) && archs.length > 0 && !archs.includes('GPTNeoXForCausalLM')) {
    throw new AtlasError(
      `config.json describes ${archs.join(', ')}; only GPTNeoXForCausalLM (Pythia) is supported.`,
    );
  }
  if (modelType === undefined && !Array.isArray(archs)) {
    throw new AtlasError(
      "config.json names neither 'model_type' nor 'architectures'; expected a GPT-NeoX (Pythia) config.",
    );
  }
  const act = json.hidden_act ?? 'gelu';
  if (act !== 'gelu') {
    throw new AtlasError(
      `config.json uses activation '${String(act)}'; only exact GELU ('gelu', as in Pythia) is supported.`,
    );
  }
  const hiddenSize = positiveInt(json, 'hidden_size');
  const numHeads = positiveInt(json, 'num_attention_heads');
  if (hiddenSize % numHeads !== 0) {
    throw new AtlasError(
      `config.json hidden_size ${hiddenSize} is not divisible by num_attention_heads ${numHeads}.`,
    );
  }
  const { pct, base } = rotary(json);
  const cfg: NeoxConfig = {
    numLayers: positiveInt(json, 'num_hidden_layers'),
    hiddenSize,
    numHeads,
    intermediateSize: positiveInt(json, 'intermediate_size', 4 * hiddenSize),
    vocabSize: positiveInt(json, 'vocab_size'),
    rotaryPct: pct,
    rotaryBase: base,
    layerNormEps: num(json, 'layer_norm_eps', 1e-5),
    useParallelResidual: bool(json, 'use_parallel_residual', true),
    maxPositions: positiveInt(json, 'max_position_embeddings', 2048),
    hiddenAct: 'gelu',
    attentionBias: bool(json, 'attention_bias', true),
  };
  if (bool(json, 'tie_word_embeddings', false)) {
    throw new AtlasError(
      'config.json ties the input and output embeddings; Pythia models have untied embeddings.',
    );
  }
  const rot = rotaryDims(cfg);
  if (rot % 2 !== 0)
    throw new AtlasError(`config.json gives ${rot} rotary dims per head; the count must be even.`);
  return cfg;
}

/** d_head. */
export function headDim(cfg: NeoxConfig): number {
  return cfg.hiddenSize / cfg.numHeads;
}

/** Rotary dims per head: int(d_head * rotary_pct), as transformers computes it. */
export function rotaryDims(cfg: NeoxConfig): number {
  return Math.floor(headDim(cfg) * cfg.rotaryPct);
}
