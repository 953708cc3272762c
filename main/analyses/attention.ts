// `attention`: looking past the softmax for one example (docs/METHODS.md "Beyond the softmax"). The
// softmax hides scale: a row's pre-softmax scores are recoverable from its probabilities only up to
// a constant, s_ij = log A_ij + c_i, so rows compare after centring over the visible keys. For the
// sequence `attention_example` (default 0), cut to its first `attention_tokens` (64) tokens (causal
// attention makes the cut exact), per layer and head this stores the pattern A, the attention
// logits recovered from A (log A_ij minus its mean over the keys j <= i; -inf where A underflowed to
// 0, NaN above the diagonal), and the norm-based contribution of every key ||A_ij f_h(x_j)|| =
// A_ij ||f_h(x_j)|| (Kobayashi et al. 2020, "Attention is Not Only a Weight"); and for the output
// distribution the centred log-ratio clr(p)_v = log p_v - mean_u log p_u = z_v - mean_u z_u (the
// canonical logits recovered from probabilities) of the top `attention_topk` (10) tokens and of the
// actual next token at each position. `recovery_error` per (layer, head) compares the recovered
// logits with the true centred scores. It runs as one extra pass over that sequence alone.

import { AtlasError } from '../errors.ts';
import { hookOut, tap, TOKEN_LOSS } from '../../native-models/neox/address.ts';
import type { GraphHook } from '../../native-models/neox/forward.ts';
import { attentionStatsHook } from '../../native-models/neox/hooks/attention-stats.ts';
import { numberOption } from '../options/read.ts';
import type { Analysis, AnalysisResult, GraphOutputs, MetricRow, TensorRow } from './types.ts';
import { tokenTextTensors } from '../data/token-text.ts';
import { metricRow } from '../library/metric-row.ts';

/** The logits hook's outputs: `hook/softmax/<part>`. */
const clr = (part: string) => hookOut('softmax', undefined, part);

/** A hook at the logits: per position the mean logit, logsumexp, and the top-k logits with ids. */
function logitsHook(k: number): GraphHook {
  return {
    kind: 'site',
    site: 'logits',
    build(ctx, x) {
      const b = ctx.b; // x: [B*T, V]
      const kk = b.min(b.int64s([k]), b.shapeOf(x, 1, 2)); // [1]
      const [values, ids] = b.topK(x, kk, { axis: -1 }); // [B*T, k]
      ctx.output(clr('top_values'), values);
      ctx.output(clr('top_ids'), ids);
      ctx.output(clr('mean'), b.reduceMean(x, [-1], false)); // [B*T]
      ctx.output(clr('lse'), b.reduceLogSumExp(x, [-1], false)); // [B*T]
    },
  };
}

/** Recovered centred logits of one query row from its probabilities over keys 0..i. */
export function recoverRow(probs: ArrayLike<number>, i: number, out: Float32Array, at: number): void {
  let sum = 0;
  let n = 0;
  for (let j = 0; j <= i; j++) {
    if (probs[j] > 0) {
      sum += Math.log(probs[j]);
      n += 1;
    }
  }
  const mean = n > 0 ? sum / n : 0;
  for (let j = 0; j < probs.length; j++) {
    out[at + j] = j > i ? NaN : probs[j] > 0 ? Math.log(probs[j]) - mean : -Infinity;
  }
}

export const attention: Analysis = {
  name: 'attention',
  description:
    'Past the softmax for one example: attention logits recovered from the probabilities, norm-based contributions of every key, and the centred log-ratio of the output distribution.',
  options: [
    {
      name: 'attention_example',
      type: 'integer',
      min: 0,
      default: 0,
      help: 'the sequence (in dataset order) to look at',
    },
    {
      name: 'attention_tokens',
      type: 'integer',
      min: 1,
      max: 2048,
      default: 64,
      help: 'its first tokens kept',
    },
    {
      name: 'attention_topk',
      type: 'integer',
      min: 1,
      max: 1000,
      default: 10,
      help: 'output tokens kept per position',
    },
  ],
  start(ctx) {
    const example = numberOption(ctx, 'attention_example');
    const maxTokens = numberOption(ctx, 'attention_tokens');
    const topk = numberOption(ctx, 'attention_topk');
    const L = ctx.config.numLayers;
    const H = ctx.config.numHeads;
    let seen = 0;
    let captured: { ids: number[]; outputs: GraphOutputs } | null = null;
    return {
      consume(batch) {
        seen += batch.B;
      },
      toJSON: () => ({ seen }),
      fromJSON(state) {
        seen = (state as { seen: number }).seen;
      },
      passes() {
        if (example >= seen) {
          throw new AtlasError(`attention_example ${example} is past the run's ${seen} sequences.`);
        }
        return [
          {
            label: `attention: example ${example}`,
            sequences: [example],
            maxTokens,
            taps: [
              { site: 'attn_pattern', reductions: [{ kind: 'raw' }] },
              { site: 'attn_scores', reductions: [{ kind: 'raw' }] },
            ],
            hooks: [attentionStatsHook(ctx.config, { maxTokens }), logitsHook(topk)],
            consume(batch, outputs) {
              captured = { ids: Array.from(batch.inputIds, Number).slice(0, batch.lengths[0]), outputs };
            },
          },
        ];
      },
      finish(): AnalysisResult {
        const metrics: MetricRow[] = [];
        const tensors: TensorRow[] = [];
        if (!captured) return { metrics, tensors };
        const { ids, outputs } = captured as { ids: number[]; outputs: GraphOutputs };
        const T = ids.length;
        const pattern = new Float32Array(L * H * T * T); // [L, H, T, T]
        const recovered = new Float32Array(L * H * T * T);
        const contrib = new Float32Array(L * H * T * T);
        for (let l = 0; l < L; l++) {
          const A = outputs.f32(tap('attn_pattern', l, 'raw')); // [1, H, T, T]
          const S = outputs.f32(tap('attn_scores', l, 'raw')); // [1, H, T, T]
          const fnorm = outputs.f32(hookOut('attn', l, 'fnorm')); // [1, H, T]
          pattern.set(A.subarray(0, H * T * T), l * H * T * T);
          for (let h = 0; h < H; h++) {
            let worst = 0;
            for (let i = 0; i < T; i++) {
              const row = (h * T + i) * T;
              const at = l * H * T * T + row;
              recoverRow(A.subarray(row, row + T), i, recovered, at);
              let sMean = 0;
              let n = 0;
              for (let j = 0; j <= i; j++) {
                contrib[at + j] = A[row + j] * fnorm[h * T + j];
                if (A[row + j] > 0) {
                  sMean += S[row + j];
                  n += 1;
                }
              }
              sMean /= Math.max(n, 1);
              for (let j = 0; j <= i; j++) {
                if (A[row + j] > 0)
                  worst = Math.max(worst, Math.abs(recovered[at + j] - (S[row + j] - sMean)));
              }
            }
            metrics.push(metricRow('attention', 'recovery_error', 'attn_pattern', l, worst, { head: h }));
          }
        }
        const shape = [L, H, T, T];
        tensors.push({ name: 'attention/pattern', shape, data: pattern });
        tensors.push({ name: 'attention/logits_recovered', shape, data: recovered });
        tensors.push({ name: 'attention/norm_contrib', shape, data: contrib });
        tensors.push({ name: 'attention/tokens', shape: [T], data: Int32Array.from(ids) });
        tensors.push(...tokenTextTensors('attention/token', ctx.tokenizer, ids));

        const top = outputs.get(clr('top_values'));
        const K = top.dims[1];
        const mean = outputs.f32(clr('mean')); // [T]
        const lse = outputs.f32(clr('lse')); // [T]
        const loss = outputs.f32(TOKEN_LOSS); // [1, T-1]
        const values = new Float32Array(T * K); // [T, K]
        const topIds = new Int32Array(T * K);
        const next = new Float32Array(T).fill(NaN); // [T]
        const zs = top.data as Float32Array;
        const is = outputs.i64(clr('top_ids'));
        for (let t = 0; t < T; t++) {
          for (let k = 0; k < K; k++) {
            values[t * K + k] = zs[t * K + k] - mean[t];
            topIds[t * K + k] = Number(is[t * K + k]);
          }
          if (t + 1 < T) next[t] = lse[t] - loss[t] - mean[t]; // z_next = lse + log p_next
        }
        tensors.push({ name: 'attention/clr_top_values', shape: [T, K], data: values });
        tensors.push({ name: 'attention/clr_top_ids', shape: [T, K], data: topIds });
        tensors.push({ name: 'attention/clr_next', shape: [T], data: next });
        metrics.push(metricRow('attention', 'example', null, null, example));
        metrics.push(metricRow('attention', 'example_tokens', null, null, T));
        return { metrics, tensors };
      },
    };
  },
};
