// The bench side of test/bench/torch_baseline.py (Hugging Face GPT-NeoX, eager): the config of a
// Pythia shape as the script reads it, the script's arguments, and its one-line JSON answer. Every
// bench that compares with PyTorch goes through here, so they all ask for the same model.

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { NeoxConfig } from '../../native-models/neox/config.ts';

/** The config.json fields torch_baseline.py builds its model from. */
export function torchConfig(cfg: NeoxConfig): Record<string, number> {
  return {
    vocab_size: cfg.vocabSize,
    hidden_size: cfg.hiddenSize,
    num_hidden_layers: cfg.numLayers,
    num_attention_heads: cfg.numHeads,
    intermediate_size: cfg.intermediateSize,
    max_position_embeddings: cfg.maxPositions,
    rotary_emb_base: cfg.rotaryBase,
    rotary_pct: cfg.rotaryPct,
  };
}

export interface TorchWork {
  batch: number;
  seq: number;
  threads: number;
  mode: 'forward' | 'backward';
  /** Timed repetitions after one warm-up (0: a single run, timed). */
  reps: number;
}

/** The weights: a directory the bench wrote (config.json + model.safetensors), or random ones. */
export type TorchModel = { modelDir: string } | { config: NeoxConfig };

/** The script and its arguments (run them under /usr/bin/time, or through torchBaseline). */
export function torchBaselineArgs(model: TorchModel, work: TorchWork): string[] {
  return [
    join(import.meta.dirname, 'torch_baseline.py'),
    ...('modelDir' in model
      ? ['--model-dir', model.modelDir]
      : ['--random-config', JSON.stringify(torchConfig(model.config))]),
    '--batch',
    String(work.batch),
    '--seq',
    String(work.seq),
    '--threads',
    String(work.threads),
    '--mode',
    work.mode,
    '--reps',
    String(work.reps),
  ];
}

export interface TorchResult {
  /** Median seconds per batch. */
  seconds: number;
  load_s: number;
  peak_rss_mb: number;
}

/** The script's answer: its last line of output. */
export function parseTorchBaseline(stdout: string): TorchResult {
  return JSON.parse(stdout.trim().split('\n').pop()!) as TorchResult;
}

/** Runs the script; the end of its stderr when it fails (no python3 with torch, or an error). */
export function torchBaseline(python: string, model: TorchModel, work: TorchWork): TorchResult | string {
  const r = spawnSync(python, torchBaselineArgs(model, work), { encoding: 'utf8' });
  if (r.status !== 0) return (r.stderr ?? String(r.error ?? 'no output')).slice(-500);
  return parseTorchBaseline(r.stdout);
}
