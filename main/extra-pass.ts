// A further pass an analysis asked for after the first (analyses/types.ts ExtraPass): its own
// graph (interventions as graph inputs, its own taps and hooks, the loss outputs), run `variants`
// times over the run's batches, over the sequences it names, or over its own inputs (probes).
// Interventions stay inputs of the same model graph; no analysis copies model code.

import type { LoadedModel } from './models.ts';
import type { RunProgress } from './runner.ts';
import type { BatchView, ExtraPass } from './analyses/types.ts';
import type { TokenSequence } from './data/tokenize.ts';
import { makeBatches } from './data/batches.ts';
import { abortError, openGraphSession } from './graph-session.ts';
import { buildNeoxGraph, tapOutputName } from '../native-models/neox/forward.ts';
import type { Device } from '../native-models/runtime/session.ts';

export interface PassEnv {
  model: LoadedModel;
  sequences: TokenSequence[];
  batchSize: number;
  lossOn: 'all' | 'response';
  device: Device;
  threads?: number;
  opts: { onProgress?: (p: RunProgress) => void; signal?: AbortSignal };
}

export async function runExtraPass(pass: ExtraPass, env: PassEnv): Promise<void> {
  const { model, opts } = env;
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
  const built = buildNeoxGraph(model.config, model.weights, {
    taps: pass.taps ?? [],
    hooks: pass.hooks ?? [],
    interventions: pass.interventions ?? [],
    outputs: { loss: true, logits: false },
  });
  const sess = await openGraphSession(built.graph, env.device, env.threads);
  try {
    const fetches = [...built.outputs.map((o) => o.name), ...(built.hookOutputs ?? []), 'token_loss'];
    const batches = makeBatches(seqs, {
      batchSize: env.batchSize,
      padId: model.tokenizer.padId,
      lossOn: pass.inputs ? 'all' : env.lossOn,
    });
    const variants = pass.variants ?? 1;
    const total = variants * batches.length;
    let done = 0;
    for (let variant = 0; variant < variants; variant++) {
      for (const batch of batches) {
        if (opts.signal?.aborted) throw abortError();
        const view: BatchView = { ...batch, sequenceIndex: batch.sequenceIndex.map((i) => picked[i]) };
        const outputs = await sess.run(batch, fetches, pass.feeds?.(view, variant) ?? {});
        pass.consume(view, outputs, { name: tapOutputName }, variant);
        done += 1;
        opts.onProgress?.({ phase: 'run', done, total, message: pass.label });
      }
    }
  } finally {
    await sess.close();
  }
}
