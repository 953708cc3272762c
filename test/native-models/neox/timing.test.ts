// Capture cost at the pythia-70m shape (random weights, batch 8 x 256, 2 threads): the plain forward
// (loss only) against the same graph with every profile tap (token_sumsq, token_sumabs,
// token_absmax, feature_moments on resid_pre, attn_out, mlp_out, resid_post). The target is a
// ratio <= 1.10 (DESIGN.md "Performance stance"); the times are printed, not asserted, since the
// machine is shared. Asserted: the taps leave the per-token loss bitwise identical at this shape.

import { describe, expect, it } from 'vitest';
import { serializeModel } from '../../../native-models/graph/onnx.ts';
import { buildNeoxGraph } from '../../../native-models/neox/forward.ts';
import type { TapSpec } from '../../../native-models/neox/forward.ts';
import { randomNeoxWeights } from '../../../native-models/neox/random.ts';
import type { NeoxConfig } from '../../../native-models/neox/config.ts';
import { batchFeeds, createSession } from '../../../native-models/runtime/session.ts';

const PYTHIA_70M: NeoxConfig = {
  numLayers: 6,
  hiddenSize: 512,
  numHeads: 8,
  intermediateSize: 2048,
  vocabSize: 50304,
  rotaryPct: 0.25,
  rotaryBase: 10000,
  layerNormEps: 1e-5,
  useParallelResidual: true,
  maxPositions: 2048,
  hiddenAct: 'gelu',
  attentionBias: true,
};

const PROFILE_TAPS: TapSpec[] = (['resid_pre', 'attn_out', 'mlp_out', 'resid_post'] as const).map((site) => ({
  site,
  reductions: [
    { kind: 'token_sumsq' },
    { kind: 'token_sumabs' },
    { kind: 'token_absmax' },
    { kind: 'feature_moments' },
  ],
}));

const REPS = Number(process.env.ATLAS_TIMING_REPS ?? 3);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

describe('capture cost at the pythia-70m shape', () => {
  it('prints plain vs all-profile-taps forward times; taps keep the loss bitwise', async () => {
    const B = 8;
    const T = 256;
    const weights = randomNeoxWeights(PYTHIA_70M, 0);
    const ids = BigInt64Array.from({ length: B * T }, (_, i) => BigInt((i * 7919) % 50277));
    const mask = new Float32Array(B * T).fill(1);
    for (let b = 0; b < B; b++) mask.fill(0, b * T + T - 8 * b, (b + 1) * T); // ragged right padding
    const feeds = batchFeeds(B, T, ids, mask, mask);
    const sessions = [];
    for (const taps of [[], PROFILE_TAPS]) {
      const built = buildNeoxGraph(PYTHIA_70M, weights, { taps, outputs: { logits: false, loss: true } });
      sessions.push(
        (await createSession(serializeModel(built.graph), { device: 'cpu', threads: 2 })).session,
      );
    }
    const times: number[][] = [[], []];
    const losses: Float32Array[] = [];
    await sessions[0].run(feeds); // warm-up (arena growth)
    await sessions[1].run(feeds);
    for (let rep = 0; rep < REPS; rep++) {
      for (let s = 0; s < 2; s++) {
        const t0 = performance.now();
        const out = await sessions[s].run(feeds);
        times[s].push(performance.now() - t0);
        losses[s] = out.token_loss.data as Float32Array;
      }
    }
    const [plain, tapped] = times.map(median);
    const paired = median(times[1].map((t, i) => t / times[0][i]));
    console.log(
      `pythia-70m shape, ${B}x${T}, 2 threads: plain ${plain.toFixed(0)} ms, profile taps ${tapped.toFixed(0)} ms ` +
        `(medians of ${REPS}); median paired ratio ${paired.toFixed(3)}`,
    );
    expect(Buffer.from(losses[0].buffer).equals(Buffer.from(losses[1].buffer))).toBe(true);
    for (const s of sessions) await s.release();
  }, 300_000);
});
