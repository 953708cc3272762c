// The dataset aggregates of main/stats/contrib-stats.ts against a brute-force Float64 computation
// from the PyTorch reference tensors of test/fixtures/data/tiny-neox (attention probabilities,
// unmasked scores, v and the dense weight), on its right-padded batch with planted token classes:
// shares by token class and by distance / key position bucket, centred scores, TransformerLens'
// head scores per sequence (detect_head "mul": sum(A * P) / sum(A)), the within-query variances and
// the token ids receiving most. Padding never counts: the padded positions hold a class and ids
// that would change every number if they did.

import { beforeAll, describe, expect, it } from 'vitest';
import { serializeModel } from '../../../native-models/graph/onnx.ts';
import { buildNeoxGraph } from '../../../native-models/neox/forward.ts';
import {
  bucketOf,
  contributionStatsHook,
  distanceEdges,
} from '../../../native-models/neox/hooks/contribution-stats.ts';
import { batchFeeds, createSession } from '../../../native-models/runtime/session.ts';
import { ContribStats } from '../../../main/stats/contrib-stats.ts';
import { contribClass } from '../../../main/data/contribution-classes.ts';
import { graphOutputs } from '../../../main/run/outputs.ts';
import type { BatchView, OutputTensor } from '../../../main/analyses/types.ts';
import { loadFixture, tensor, type Fixture } from '../../native-models/neox/fixture.ts';

describe('contribution aggregates vs brute force on tiny-neox', () => {
  let fx: Fixture;
  let stats: ContribStats;
  let classes: Uint8Array;
  const MAX = 24;
  const edges = distanceEdges(MAX);

  beforeAll(async () => {
    fx = await loadFixture('tiny-neox');
    const built = buildNeoxGraph(fx.config, fx.weights, {
      hooks: [contributionStatsHook(fx.config, { blockSize: 4, maxTokens: MAX })],
      outputs: { logits: false },
    });
    const { session } = await createSession(serializeModel(built.graph), { device: 'cpu', threads: 1 });
    const out = await session.run(batchFeeds(fx.B, fx.T, fx.inputIds, fx.attentionMask));
    await session.release();
    // Classes: ids 12, 24 punctuation, 68 newline, the padding id 1 punctuation (must never count).
    classes = new Uint8Array(fx.config.vocabSize).fill(3);
    classes[12] = 1;
    classes[24] = 1;
    classes[1] = 1;
    classes[68] = 2;
    stats = new ContribStats(fx.config.numLayers, fx.config.numHeads, edges, fx.config.vocabSize, classes);
    const lengths = fx.manifest.batch.lengths;
    const batch: BatchView = {
      B: fx.B,
      T: fx.T,
      inputIds: fx.inputIds,
      attentionMask: fx.attentionMask,
      lossMask: fx.lossMask,
      lengths,
      sequenceIndex: lengths.map((_, i) => i),
    };
    const outputs = graphOutputs(
      new Map(
        Object.entries(out).map(([k, v]) => [k, { dims: v.dims, data: v.data as OutputTensor['data'] }]),
      ),
    );
    // Two halves of the state merged through toJSON/fromJSON equal one accumulation: add twice.
    stats.add(batch, outputs);
    const again = new ContribStats(
      fx.config.numLayers,
      fx.config.numHeads,
      edges,
      fx.config.vocabSize,
      classes,
    );
    again.fromJSON(stats.toJSON());
    again.add(batch, outputs);
    stats = again; // every statistic is a ratio of sums over the same batch counted twice
  });

  it('matches the brute-force aggregates', () => {
    const { T } = fx;
    const H = fx.config.numHeads;
    const d = fx.config.hiddenSize;
    const dh = d / H;
    const lengths = fx.manifest.batch.lengths;
    const ids = fx.manifest.batch.input_ids;
    const NB = edges.length;
    let worst = 0;
    let checked = 0;
    const check = (got: number, want: number, what: string) => {
      const e = Math.abs(got - want) / Math.max(1, Math.abs(want));
      expect(e, what).toBeLessThan(1e-5);
      worst = Math.max(worst, e);
      checked++;
    };
    let queries = 0;
    for (const n of lengths) queries += n - 1;
    for (let l = 0; l < fx.config.numLayers; l++) {
      const A = tensor(fx.expected, `attn_pattern.${l}`).data as Float32Array;
      const S = tensor(fx.expected, `attn_scores.${l}`).data as Float32Array;
      const V = tensor(fx.expected, `v.${l}`).data as Float32Array;
      const W = fx.weights.get(`gpt_neox.layers.${l}.attention.dense.weight`)!.data as Float32Array;
      for (let h = 0; h < H; h++) {
        const cls = new Float64Array(4 * 4);
        const clsPairs = new Float64Array(4);
        const dist = new Float64Array(3 * NB);
        const distPairs = new Float64Array(NB);
        const keyPos = new Float64Array(NB);
        const heads = [0, 0, 0];
        for (let b = 0; b < fx.B; b++) {
          const n = lengths[b];
          const bh = b * H + h;
          const fn = Array.from({ length: T }, (_, j) => {
            let sq = 0;
            for (let c = 0; c < d; c++) {
              let f = 0;
              for (let k = 0; k < dh; k++) f += W[c * d + h * dh + k] * V[(bh * T + j) * dh + k];
              sq += f * f;
            }
            return Math.sqrt(sq);
          });
          // TransformerLens' patterns as full matrices over the real tokens; score = sum(A P) / sum(A).
          const P = [0, 1, 2].map(() => Array.from({ length: n }, () => new Float64Array(n)));
          for (let i = 0; i < n; i++) {
            if (i >= 1) P[0][i][i - 1] = 1;
            for (let j = 0; j < i; j++) if (ids[b][j] === ids[b][i]) P[1][i][j] = 1;
            for (let j = 1; j <= i; j++) if (ids[b][j - 1] === ids[b][i]) P[2][i][j] = 1; // dup shifted right, tril
          }
          for (let k = 0; k < 3; k++) {
            let num = 0;
            let den = 0;
            for (let i = 0; i < n; i++)
              for (let j = 0; j <= i; j++) {
                num += A[(bh * T + i) * T + j] * P[k][i][j];
                den += A[(bh * T + i) * T + j];
              }
            heads[k] += num / den;
          }
          for (let i = 1; i < n; i++) {
            const row = (bh * T + i) * T;
            let N = 0;
            let mean = 0;
            for (let j = 0; j <= i; j++) {
              N += A[row + j] * fn[j];
              mean += S[row + j] / (i + 1);
            }
            for (let j = 0; j <= i; j++) {
              const c = contribClass(j, ids[b][j], classes);
              const share = (A[row + j] * fn[j]) / N;
              cls[c * 4] += A[row + j];
              cls[c * 4 + 1] += share;
              cls[c * 4 + 2] += A[row + j] * fn[j];
              cls[c * 4 + 3] += S[row + j] - mean;
              clsPairs[c] += 1;
              const k = bucketOf(i - j, edges);
              dist[k] += A[row + j];
              dist[NB + k] += share;
              dist[2 * NB + k] += S[row + j] - mean;
              distPairs[k] += 1;
              keyPos[bucketOf(j, edges)] += share;
            }
          }
        }
        for (let c = 0; c < 4; c++) {
          check(stats.classShare(l, h, c, 'attn'), cls[c * 4] / queries, `attn ${c}`);
          check(stats.classShare(l, h, c, 'norm'), cls[c * 4 + 1] / queries, `norm ${c}`);
          check(stats.classShare(l, h, c, 'raw'), cls[c * 4 + 2] / queries, `raw ${c}`);
          if (clsPairs[c] > 0) check(stats.classScore(l, h, c), cls[c * 4 + 3] / clsPairs[c], `score ${c}`);
        }
        for (let k = 0; k < NB; k++) {
          if (distPairs[k] === 0) continue;
          check(stats.dist(l, h, k, 'attn'), dist[k] / queries, 'dist attn');
          check(stats.dist(l, h, k, 'norm'), dist[NB + k] / queries, 'dist norm');
          check(stats.dist(l, h, k, 'score'), dist[2 * NB + k] / distPairs[k], 'dist score');
          if (stats.posPairs[k] > 0) check(stats.keyPos(l, h, k, 'norm'), keyPos[k] / queries, 'keypos');
        }
        check(stats.headScore(l, h, 'prev'), heads[0] / fx.B, 'prev');
        check(stats.headScore(l, h, 'duplicate'), heads[1] / fx.B, 'duplicate');
        check(stats.headScore(l, h, 'induction'), heads[2] / fx.B, 'induction');
      }
      // The top ids of the layer: brute force over every head.
      const byId = new Map<number, number>();
      for (let h = 0; h < H; h++) {
        for (let b = 0; b < fx.B; b++) {
          const n = lengths[b];
          const bh = b * H + h;
          const fn = Array.from({ length: T }, (_, j) => {
            let sq = 0;
            for (let c = 0; c < d; c++) {
              let f = 0;
              for (let k = 0; k < dh; k++) f += W[c * d + h * dh + k] * V[(bh * T + j) * dh + k];
              sq += f * f;
            }
            return Math.sqrt(sq);
          });
          for (let i = 1; i < n; i++) {
            const row = (bh * T + i) * T;
            let N = 0;
            for (let j = 0; j <= i; j++) N += A[row + j] * fn[j];
            for (let j = 1; j <= i; j++)
              byId.set(ids[b][j], (byId.get(ids[b][j]) ?? 0) + (A[row + j] * fn[j]) / N / H);
          }
        }
      }
      const want = [...byId.entries()].sort((x, y) => y[1] - x[1] || x[0] - y[0]).slice(0, 5);
      const got = stats.topIds(l, 5);
      expect(got.map((g) => g.id)).toEqual(want.map((w) => w[0]));
      got.forEach((g, r) => check(g.share, want[r][1] / queries, 'top id share'));
    }
    expect(checked).toBeGreaterThan(100);
    expect(worst).toBeLessThan(1e-5);
  });
});
