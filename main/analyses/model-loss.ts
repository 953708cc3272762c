// `model`: recorded by every run. `model/loss` is the mean next-token cross-entropy over real
// target tokens (position t predicts t+1 where both are real), `model/loss` per position, and
// `model/tokens` (targets counted). The graph computes log-softmax stably from the logits and
// returns the per-token loss [B, T-1]; JavaScript sums it in Float64 under the loss mask.

import type { Analysis, AnalysisResult, MetricRow } from './types.ts';
import { metricRow } from './util.ts';

export const modelLoss: Analysis = {
  name: 'model',
  description: 'Mean next-token loss over real targets (recorded by every run).',
  needsLoss: true,
  taps: () => [],
  start(ctx) {
    const maxT = ctx.config.maxPositions;
    const sum = new Float64Array(maxT);
    const count = new Float64Array(maxT);
    return {
      consume(batch, outputs) {
        const tok = outputs.get('token_loss');
        if (!tok) throw new Error('the graph has no token_loss output');
        const loss = tok.data as Float32Array; // [B, T-1]
        const { B, T, lossMask } = batch;
        for (let b = 0; b < B; b++) {
          for (let t = 0; t < T - 1; t++) {
            if (lossMask[b * T + t] === 0) continue;
            sum[t] += loss[b * (T - 1) + t];
            count[t] += 1;
          }
        }
      },
      finish(): AnalysisResult {
        let s = 0;
        let n = 0;
        const metrics: MetricRow[] = [];
        for (let t = 0; t < maxT; t++) {
          if (count[t] === 0) continue;
          s += sum[t];
          n += count[t];
          metrics.push(metricRow('model', 'loss', null, null, sum[t] / count[t], { position: t }));
        }
        metrics.push(metricRow('model', 'loss', null, null, n > 0 ? s / n : NaN));
        metrics.push(metricRow('model', 'tokens', null, null, n));
        return { metrics, tensors: [] };
      },
    };
  },
};
