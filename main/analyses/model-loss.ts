// `model`: recorded by every run. `model/loss` is the mean next-token cross-entropy over real
// target tokens (position t predicts t+1 where both are real), `model/loss` per position, and
// `model/tokens` (targets counted). The graph computes log-softmax stably from the logits and
// returns the per-token loss [B, T-1]; JavaScript sums it in Float64 under the loss mask
// (stats/token-loss.ts). A run with no target at all (one-token prompts, e.g. an ActAdd pair of
// single words) has no loss: the row is left out rather than stored as 0/0.

import { TOKEN_LOSS } from '../../native-models/neox/address.ts';
import { TokenLoss } from '../stats/token-loss.ts';
import type { Analysis, AnalysisResult, MetricRow } from './types.ts';
import { metricRow } from '../library/metric-row.ts';

export const modelLoss: Analysis = {
  name: 'model',
  description: 'Mean next-token loss over real targets (recorded by every run).',
  start(ctx) {
    const loss = new TokenLoss(ctx.config.maxPositions);
    return {
      consume(batch, outputs) {
        loss.add(batch, outputs.f32(TOKEN_LOSS));
      },
      finish(): AnalysisResult {
        const metrics: MetricRow[] = [];
        for (let t = 0; t < loss.maxT; t++) {
          const p = loss.at(t);
          if (p.count > 0) metrics.push(metricRow('model', 'loss', null, null, p.mean, { position: t }));
        }
        if (loss.count > 0) metrics.push(metricRow('model', 'loss', null, null, loss.mean()));
        metrics.push(metricRow('model', 'tokens', null, null, loss.count));
        return { metrics, tensors: [] };
      },
      toJSON: () => loss.toJSON(),
      fromJSON: (s) => loss.fromJSON(s),
    };
  },
};
