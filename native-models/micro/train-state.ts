// What a micro-suite training run saves beside each checkpoint so that an interrupted run resumes
// from its last checkpoint and ends with bit-identical weights (the role of the optimizer states
// Pythia's GPT-NeoX checkpoints carry): the update count, AdamW's two moment buffers per parameter
// (torch's exp_avg / exp_avg_sq) as float32 safetensors, the loss of every update so far and the
// seconds spent, under a signature of everything that determines the run (a state with another
// signature is never resumed). The weights themselves are the checkpoint's model.safetensors.
//
// Files in `<model>/train-state/`: step<N>.safetensors (moments), then step<N>.json (the record,
// written last through a temporary file and a rename, so it marks a complete state). Older states
// are removed once a newer one is complete.

import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readSafetensors, writeSafetensors } from '../weights/safetensors.ts';
import { fileSource, withSource } from '../weights/byte-source.ts';
import type { Tensor } from '../weights/types.ts';
import type { AdamWOptions, AdamWState } from './optimizer.ts';

export interface TrainState {
  /** Signature of the run (train.ts `runSignature`). */
  signature: string;
  /** Updates taken: the weights are checkpoint `step`. */
  step: number;
  /** losses[s]: mean loss of update s (batch s on the weights of checkpoint s), s < step. */
  losses: number[];
  /** gradNorms[s]: global gradient norm of update s before clipping, s < step. */
  gradNorms: number[];
  /** Wall-clock seconds of training so far, over every session. */
  seconds: number;
  optimizer: AdamWState;
}

interface StateRecord {
  signature: string;
  step: number;
  losses: number[];
  gradNorms: number[];
  seconds: number;
  optimizer: { step: number; options: AdamWOptions; shapes: Record<string, number[]> };
}

const EXP_AVG = 'exp_avg/';
const EXP_AVG_SQ = 'exp_avg_sq/';

function stepsIn(names: string[]): number[] {
  return names
    .map((n) => /^step(\d+)\.json$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

/** Save `state` in `dir` and remove older states. `shapes` gives each parameter's shape. */
export async function saveTrainState(
  dir: string,
  state: TrainState,
  shapes: Map<string, number[]>,
): Promise<void> {
  await mkdir(dir, { recursive: true });
  const tensors = new Map<string, Tensor>();
  const shapeRecord: Record<string, number[]> = {};
  for (const [name, shape] of shapes) {
    const m = state.optimizer.expAvg.get(name);
    const v = state.optimizer.expAvgSq.get(name);
    if (!m || !v) throw new Error(`train state: no moments for '${name}'`);
    tensors.set(EXP_AVG + name, { shape, data: m });
    tensors.set(EXP_AVG_SQ + name, { shape, data: v });
    shapeRecord[name] = shape;
  }
  const base = join(dir, `step${state.step}`);
  await writeSafetensors(`${base}.safetensors`, tensors);
  const record: StateRecord = {
    signature: state.signature,
    step: state.step,
    losses: state.losses,
    gradNorms: state.gradNorms,
    seconds: state.seconds,
    optimizer: { step: state.optimizer.step, options: state.optimizer.options, shapes: shapeRecord },
  };
  const tmp = `${base}.json.tmp-${process.pid}`;
  await writeFile(tmp, JSON.stringify(record) + '\n');
  await rename(tmp, `${base}.json`);
  for (const s of stepsIn(await readdir(dir))) {
    if (s === state.step) continue;
    await rm(join(dir, `step${s}.json`), { force: true });
    await rm(join(dir, `step${s}.safetensors`), { force: true });
  }
}

/** The latest complete state in `dir` with this signature, or null. */
export async function loadTrainState(dir: string, signature: string): Promise<TrainState | null> {
  if (!existsSync(dir)) return null;
  const steps = stepsIn(await readdir(dir));
  for (let i = steps.length - 1; i >= 0; i--) {
    const base = join(dir, `step${steps[i]}`);
    if (!existsSync(`${base}.safetensors`)) continue;
    const record = JSON.parse(await readFile(`${base}.json`, 'utf8')) as StateRecord;
    if (record.signature !== signature) return null;
    const dict = await withSource(fileSource(`${base}.safetensors`), (src) => readSafetensors(src));
    const expAvg = new Map<string, Float32Array>();
    const expAvgSq = new Map<string, Float32Array>();
    for (const name of Object.keys(record.optimizer.shapes)) {
      const m = dict.get(EXP_AVG + name);
      const v = dict.get(EXP_AVG_SQ + name);
      if (!m || !v) return null;
      expAvg.set(name, m.data);
      expAvgSq.set(name, v.data);
    }
    return {
      signature: record.signature,
      step: record.step,
      losses: record.losses,
      gradNorms: record.gradNorms,
      seconds: record.seconds,
      optimizer: { step: record.optimizer.step, options: record.optimizer.options, expAvg, expAvgSq },
    };
  }
  return null;
}
