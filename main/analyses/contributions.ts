// `contributions`: token contributions past the softmax and the Q, K, V patterns of every head, over
// a dataset, in the graph in blocks of queries (native-models/neox/hooks/contribution-stats.ts;
// accumulated in Float64 by main/stats/contrib-stats.ts). docs/METHODS.md "Token contributions past
// the softmax" (the softmax inverse log A_ij = s_ij - lse_i; the norm-based contributions
// ||A_ij f(x_j)|| of Kobayashi et al. 2020, "Attention is Not Only a Weight") and "Q, K, V
// patterns" (the rotary / pass-through split of the scores; TransformerLens' previous, duplicate
// and induction head scores, on the dataset and on repeated random tokens, contributions-passes.ts).
// Rows per (layer, head), so the checkpoint timeline follows them:
//   share_attn:<class>, share_norm:<class>, norm_raw:<class>, score_centred:<class> for the classes
//   of data/contribution-classes.ts (first, punctuation, newline, content); first_norm_ratio =
//   share_norm:first / share_attn:first (below 1: the first token is attended more than it writes);
//   dist_attn, dist_norm, dist_score by distance bucket of i - j (position = the bucket's lower
//   edge); keypos_attn, keypos_norm by key position bucket; qnorm, knorm (position = bucket, and
//   NULL: over every token); lse; score_var, score_var_rot_share = var_rot / (var_rot + var_pass),
//   score_cov_share = 2 cov / score_var; prev_score, duplicate_score, induction_score (dataset);
//   prev_score_rep, duplicate_score_rep, induction_score_rep (repeated random tokens). Per layer:
//   top_token_share (position = rank, dim = token id) and top_token_per_pair. Overall:
//   induction_score_rep_max, induction_loss_gap_rep, repeat_sequences, contrib_queries.
// Tensors for one prompt (`contrib_example`): contributions/example_recv_norm and _recv_attn
// [L, H, n] (what each token receives, summed over queries i >= 1), example_tokens [n] and the
// tokens' UTF-8 text (example_text, example_text_offsets [n + 1]) for the token view.

import { AtlasError } from '../errors.ts';
import { hookOut } from '../../native-models/neox/address.ts';
import { DEFAULT_BLOCK } from '../../native-models/neox/hooks/attention-stats.ts';
import { contributionStatsHook, distanceEdges } from '../../native-models/neox/hooks/contribution-stats.ts';
import { CONTRIB_CLASSES, contribClassTable } from '../data/contribution-classes.ts';
import { metricRow } from '../library/metric-row.ts';
import { booleanOption, numberOption, stringOption } from '../options/read.ts';
import { ContribStats } from '../stats/contrib-stats.ts';
import { repeatedRandomTokens, repeatedWordRuns, repeatPass, RepeatTally } from './contributions-passes.ts';
import type { Analysis, AnalysisResult, MetricRow, RunContext, TensorRow } from './types.ts';
import { tokenTextTensors } from '../data/token-text.ts';

function maxTokens(ctx: RunContext): number {
  return ctx.seqLen ?? ctx.config.maxPositions;
}

export const contributions: Analysis = {
  name: 'contributions',
  description:
    'Token contributions past the softmax (recovered scores, norm-based contributions by token class, distance and position) and Q/K patterns (norms, rotary vs content score variance, previous/duplicate/induction head scores).',
  options: [
    {
      name: 'contrib_block',
      type: 'integer',
      min: 1,
      max: 4096,
      default: DEFAULT_BLOCK,
      help: 'queries per block of the in-graph statistics',
    },
    {
      name: 'contrib_topk',
      type: 'integer',
      min: 0,
      max: 1000,
      default: 20,
      help: 'token ids listed per layer by the contribution they receive',
    },
    {
      name: 'contrib_example',
      type: 'integer',
      min: 0,
      default: 0,
      help: 'the sequence (in dataset order) whose tokens are stored for the token view',
    },
    {
      name: 'contrib_repeat',
      type: 'boolean',
      default: true,
      help: 'one more pass on repeated random tokens (induction score)',
    },
    {
      name: 'contrib_repeat_source',
      type: 'choice',
      choices: ['random', 'words'],
      default: 'random',
      help: "random token ids, or the probe set's word runs (8-16 words)",
    },
    {
      name: 'contrib_repeat_len',
      type: 'integer',
      min: 2,
      max: 1024,
      default: 32,
      help: 'random tokens per copy (each sequence is BOS + 2 copies; random source)',
    },
    {
      name: 'contrib_repeat_seqs',
      type: 'integer',
      min: 1,
      max: 10000,
      default: 16,
      help: 'repeated random sequences',
    },
    {
      name: 'contrib_seed',
      type: 'integer',
      default: 0,
      help: 'seed of the random tokens',
    },
  ],
  hooks(ctx) {
    return [
      contributionStatsHook(ctx.config, {
        blockSize: numberOption(ctx, 'contrib_block'),
        maxTokens: maxTokens(ctx),
      }),
    ];
  },
  start(ctx) {
    const L = ctx.config.numLayers;
    const H = ctx.config.numHeads;
    const vocab = Math.min(ctx.config.vocabSize, ctx.tokenizer.vocabSize);
    const edges = distanceEdges(maxTokens(ctx));
    const stats = new ContribStats(L, H, edges, vocab, contribClassTable(ctx.tokenizer));
    const topk = numberOption(ctx, 'contrib_topk');
    const exampleIndex = numberOption(ctx, 'contrib_example');
    const repeat = booleanOption(ctx, 'contrib_repeat');
    const R = Math.min(
      numberOption(ctx, 'contrib_repeat_len'),
      Math.floor((ctx.config.maxPositions - 1) / 2),
    );
    const nSeq = ctx.sequenceLengths?.length;
    if (nSeq !== undefined && exampleIndex >= nSeq) {
      throw new AtlasError(`contrib_example ${exampleIndex} is past the run's ${nSeq} sequences.`);
    }
    const tally = new RepeatTally(L, H);
    let example: { ids: number[]; attn: Float32Array; norm: Float32Array } | null = null;
    let seen = 0;
    return {
      consume(batch, outputs) {
        stats.add(batch, outputs);
        seen += batch.B;
        const b = batch.sequenceIndex.indexOf(exampleIndex);
        if (b < 0) return;
        const n = batch.lengths[b];
        const { T } = batch;
        const attn = new Float32Array(L * H * n);
        const norm = new Float32Array(L * H * n);
        for (let l = 0; l < L; l++) {
          const ra = outputs.f32(hookOut('contrib', l, 'recv_attn'));
          const rn = outputs.f32(hookOut('contrib', l, 'recv_norm'));
          for (let h = 0; h < H; h++) {
            const o = (b * H + h) * T;
            attn.set(ra.subarray(o, o + n), (l * H + h) * n);
            norm.set(rn.subarray(o, o + n), (l * H + h) * n);
          }
        }
        const ids = Array.from(batch.inputIds.subarray(b * T, b * T + n), Number);
        example = { ids, attn, norm };
      },
      toJSON: () => ({ stats: stats.toJSON(), tally: tally.toJSON(), example, seen }),
      fromJSON(state) {
        const s = state as { stats: unknown; tally: unknown; example: typeof example; seen: number };
        stats.fromJSON(s.stats);
        tally.fromJSON(s.tally);
        example = s.example;
        seen = s.seen;
      },
      passes() {
        if (exampleIndex >= seen) {
          throw new AtlasError(`contrib_example ${exampleIndex} is past the run's ${seen} sequences.`);
        }
        if (!repeat || R < 2) return [];
        const count = numberOption(ctx, 'contrib_repeat_seqs');
        const seed = numberOption(ctx, 'contrib_seed');
        const block = numberOption(ctx, 'contrib_block');
        if (stringOption(ctx, 'contrib_repeat_source') === 'words') {
          const seqs = repeatedWordRuns(ctx.tokenizer, count, ctx.config.maxPositions, seed);
          return seqs.length > 0 ? [repeatPass(ctx.config, seqs, 'word runs', block, tally)] : [];
        }
        const seqs = repeatedRandomTokens(ctx.tokenizer, vocab, count, R, seed);
        return [repeatPass(ctx.config, seqs, `random runs of ${R} tokens`, block, tally)];
      },
      finish(): AnalysisResult {
        const metrics: MetricRow[] = [];
        const row = (
          metric: string,
          layer: number | null,
          value: number,
          idx: { head?: number; position?: number; dim?: number } = {},
        ) => metrics.push(metricRow('contributions', metric, null, layer, value, idx));
        let repMax = -Infinity;
        for (let l = 0; l < L; l++) {
          for (let h = 0; h < H; h++) {
            const head = { head: h };
            CONTRIB_CLASSES.forEach((name, c) => {
              row(`share_attn:${name}`, l, stats.classShare(l, h, c, 'attn'), head);
              row(`share_norm:${name}`, l, stats.classShare(l, h, c, 'norm'), head);
              row(`norm_raw:${name}`, l, stats.classShare(l, h, c, 'raw'), head);
              row(`score_centred:${name}`, l, stats.classScore(l, h, c), head);
            });
            row(
              'first_norm_ratio',
              l,
              stats.classShare(l, h, 0, 'norm') / stats.classShare(l, h, 0, 'attn'),
              head,
            );
            edges.forEach((edge, k) => {
              const at = { head: h, position: edge };
              if (stats.distPairs[k] > 0) {
                row('dist_attn', l, stats.dist(l, h, k, 'attn'), at);
                row('dist_norm', l, stats.dist(l, h, k, 'norm'), at);
                row('dist_score', l, stats.dist(l, h, k, 'score'), at);
              }
              if (stats.posPairs[k] > 0) {
                row('keypos_attn', l, stats.keyPos(l, h, k, 'attn'), at);
                row('keypos_norm', l, stats.keyPos(l, h, k, 'norm'), at);
              }
              if (stats.posTokens[k] > 0) {
                row('qnorm', l, stats.norm(l, h, k, 'q'), at);
                row('knorm', l, stats.norm(l, h, k, 'k'), at);
              }
            });
            row('qnorm', l, stats.norm(l, h, -1, 'q'), head);
            row('knorm', l, stats.norm(l, h, -1, 'k'), head);
            row('lse', l, stats.meanLse(l, h), head);
            const v = stats.variances(l, h);
            const total = v.rot + v.pass + 2 * v.cov;
            row('score_var', l, total, head);
            row('score_var_rot_share', l, v.rot + v.pass > 0 ? v.rot / (v.rot + v.pass) : NaN, head);
            row('score_cov_share', l, total > 0 ? (2 * v.cov) / total : NaN, head);
            row('prev_score', l, stats.headScore(l, h, 'prev'), head);
            row('duplicate_score', l, stats.headScore(l, h, 'duplicate'), head);
            row('induction_score', l, stats.headScore(l, h, 'induction'), head);
            if (tally.seqs > 0) {
              row('prev_score_rep', l, tally.score(l, h, 'prev'), head);
              row('duplicate_score_rep', l, tally.score(l, h, 'duplicate'), head);
              const ind = tally.score(l, h, 'induction');
              row('induction_score_rep', l, ind, head);
              repMax = Math.max(repMax, ind);
            }
          }
          stats.topIds(l, topk).forEach((t, rank) => {
            row('top_token_share', l, t.share, { position: rank, dim: t.id });
            row('top_token_per_pair', l, t.perPair, { position: rank, dim: t.id });
          });
        }
        if (tally.seqs > 0) {
          row('induction_score_rep_max', null, repMax);
          row('induction_loss_gap_rep', null, tally.lossGap());
          row('repeat_sequences', null, tally.seqs);
        }
        row('contrib_queries', null, stats.queries);
        const tensors: TensorRow[] = [];
        if (example) {
          const ex = example as { ids: number[]; attn: Float32Array; norm: Float32Array };
          const n = ex.ids.length;
          tensors.push({ name: 'contributions/example_recv_norm', shape: [L, H, n], data: ex.norm });
          tensors.push({ name: 'contributions/example_recv_attn', shape: [L, H, n], data: ex.attn });
          tensors.push({ name: 'contributions/example_tokens', shape: [n], data: Int32Array.from(ex.ids) });
          tensors.push(...tokenTextTensors('contributions/example', ctx.tokenizer, ex.ids));
          row('example', null, exampleIndex);
        }
        return { metrics, tensors };
      },
    };
  },
};
