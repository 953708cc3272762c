// A further pass an analysis asked for after the first (analyses/types.ts ExtraPass): its own
// graph (interventions as graph inputs, its own taps and hooks, gradients if it asks, the loss
// outputs), run `variants` times over the run's batches, over the sequences it names, or over its
// own inputs (probes), through the same batch loop as the first pass (execute.ts). Interventions
// stay inputs of the same model graph; no analysis copies model code.

import type { ExtraPass } from '../analyses/types.ts';
import { makeBatches, type Batch } from '../data/batches.ts';
import type { TokenSequence } from '../data/tokenize.ts';
import type { RunProgress } from '../runner.ts';
import { openPass, type PassEnv } from './execute.ts';

export interface ExtraPassEnv extends PassEnv {
  sequences: TokenSequence[];
  batchSize: number;
  lossOn: 'all' | 'response';
  onProgress?: (p: RunProgress) => void;
}

export async function runExtraPass(pass: ExtraPass, env: ExtraPassEnv): Promise<void> {
  // The pass's own sequences (every target counts) or the run's.
  const source: TokenSequence[] = pass.inputs
    ? pass.inputs.map((x, i) => ({ ids: x.ids, responseStart: 0, record: i, truncated: false }))
    : env.sequences;
  const picked = pass.sequences ?? source.map((_, i) => i);
  const seqs = picked.map((i) => {
    const q = source[i];
    if (!q) throw new Error(`pass ${pass.label}: no sequence ${i}`);
    return pass.maxTokens === undefined ? q : { ...q, ids: q.ids.slice(0, pass.maxTokens) };
  });
  if (seqs.some((q) => q.ids.length === 0)) throw new Error(`pass ${pass.label}: an empty sequence`);
  const made = makeBatches(seqs, {
    batchSize: pass.batchSize ?? env.batchSize,
    padId: env.model.tokenizer.padId,
    lossOn: pass.inputs ? 'all' : env.lossOn,
  });
  const batches = pass.paired ? made.map(stackTwice) : made;
  const variants = pass.variants ?? 1;
  const open = await openPass(env, { ...pass, batches: variants * batches.length });
  try {
    const total = variants * batches.length;
    let done = 0;
    await open.run(batches, {
      variants,
      view: (batch) => ({ ...batch, sequenceIndex: batch.sequenceIndex.map((i) => picked[i]) }),
      consume: (view, outputs, variant) => pass.consume(view, outputs, variant),
      after() {
        done += 1;
        env.onProgress?.({ phase: 'run', done, total, message: pass.label });
      },
    });
  } finally {
    await open.close();
  }
}

/** A batch stacked on itself: [2B, T], rows b and B + b the same sequence. */
export function stackTwice(batch: Batch): Batch {
  const two = <A extends BigInt64Array | Float32Array>(a: A): A => {
    const out = new (a.constructor as { new (n: number): A })(a.length * 2);
    out.set(a as never, 0);
    out.set(a as never, a.length);
    return out;
  };
  return {
    ...batch,
    B: batch.B * 2,
    inputIds: two(batch.inputIds),
    attentionMask: two(batch.attentionMask),
    lossMask: two(batch.lossMask),
    lengths: [...batch.lengths, ...batch.lengths],
    responseStarts: [...batch.responseStarts, ...batch.responseStarts],
    sequenceIndex: [...batch.sequenceIndex, ...batch.sequenceIndex],
  };
}
