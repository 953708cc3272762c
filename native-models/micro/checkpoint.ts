// A micro-suite checkpoint as a Hugging Face model directory, laid out like one revision of a hub
// Pythia repository (EleutherAI/pythia-70m at stepN): config.json with the hub's GPT-NeoX keys
// (`rotary_pct`, `rotary_emb_base`, not transformers 5's `rope_parameters`), model.safetensors
// (float32, HF parameter names, `{"format": "pt"}` metadata as `save_pretrained` writes),
// tokenizer.json and tokenizer_config.json. So the app's normal loading path (weights/load.ts,
// neox/config-parse.ts, tokenizer/) and Python's `GPTNeoXForCausalLM.from_pretrained` read it.
//
// Each directory is written whole into a temporary sibling and renamed into place (rename is atomic
// on one file system), so a directory that exists is complete: an interrupted write leaves only a
// `.tmp-*` folder, which the next write of the same step clears.

import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { NeoxConfig } from '../neox/config.ts';
import { writeSafetensors } from '../weights/safetensors.ts';
import type { StateDict } from '../weights/types.ts';
import { microTokenizerConfig } from './tokenizer-json.ts';

export const CHECKPOINT_FILES = ['config.json', 'model.safetensors', 'tokenizer.json'] as const;

/** config.json for `cfg` with the keys of the hub's Pythia repositories. */
export function neoxConfigJson(cfg: NeoxConfig): Record<string, unknown> {
  return {
    architectures: ['GPTNeoXForCausalLM'],
    model_type: 'gpt_neox',
    bos_token_id: 0,
    eos_token_id: 0,
    hidden_act: cfg.hiddenAct,
    hidden_size: cfg.hiddenSize,
    initializer_range: 0.02,
    intermediate_size: cfg.intermediateSize,
    layer_norm_eps: cfg.layerNormEps,
    max_position_embeddings: cfg.maxPositions,
    num_attention_heads: cfg.numHeads,
    num_hidden_layers: cfg.numLayers,
    rotary_emb_base: cfg.rotaryBase,
    rotary_pct: cfg.rotaryPct,
    tie_word_embeddings: false,
    torch_dtype: 'float32',
    use_cache: true,
    use_parallel_residual: cfg.useParallelResidual,
    vocab_size: cfg.vocabSize,
  };
}

/** A directory holds a complete checkpoint (it exists only after its atomic rename). */
export function isCheckpointDir(dir: string): boolean {
  return CHECKPOINT_FILES.every((f) => existsSync(join(dir, f)));
}

/** Remove `.tmp-*` leftovers of interrupted writes in `parent`. */
export async function clearPartialWrites(parent: string): Promise<void> {
  if (!existsSync(parent)) return;
  for (const e of await readdir(parent)) {
    if (e.startsWith('.tmp-')) await rm(join(parent, e), { recursive: true, force: true });
  }
}

export interface CheckpointContent {
  config: NeoxConfig;
  weights: StateDict;
  tokenizerJson: string;
}

/** Write the checkpoint directory `dir` atomically (replacing an existing one). */
export async function writeCheckpointDir(dir: string, c: CheckpointContent): Promise<void> {
  const parent = dirname(dir);
  await mkdir(parent, { recursive: true });
  const tmp = join(parent, `.tmp-${dir.slice(parent.length + 1)}-${process.pid}`);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp);
  try {
    await writeFile(join(tmp, 'config.json'), JSON.stringify(neoxConfigJson(c.config), null, 2) + '\n');
    await writeFile(
      join(tmp, 'tokenizer_config.json'),
      JSON.stringify(microTokenizerConfig(c.config.maxPositions), null, 2) + '\n',
    );
    await writeFile(join(tmp, 'tokenizer.json'), c.tokenizerJson);
    await writeSafetensors(join(tmp, 'model.safetensors'), c.weights, { format: 'pt' });
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}
