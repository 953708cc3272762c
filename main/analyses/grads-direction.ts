// The `grads` analysis' direction pass and rows (docs/METHODS.md "Gradient directions per
// example"): one more forward and backward of the summed loss over the run's data, reading each
// example's activation gradient summed over its real tokens at every profiled (site, layer)
// (`seq_feature_sum`, [B, F] per key), scored against the dataset's summed gradient from the first
// pass by main/stats/grad-direction.ts. Rows: `direction_cosine_mean` per (site, layer) (the mean
// leave-one-out cosine over examples: where the examples agree in direction), the examples with the
// lowest overall cosine (`disagreeing_example_direction_cosine`, dim = the example's index in
// dataset order, position = rank) and each one's map (`disagreeing_example_direction_map` per site
// and layer); the tensor `grads/example_direction_cosine` [N, sites, layers] holds every
// example's map (rows in `grads/example_direction_index` order).

import { grad } from '../../native-models/neox/address.ts';
import type { Site } from '../../native-models/neox/sites.ts';
import { metricRow } from '../library/metric-row.ts';
import type { DirectionAgreement } from '../stats/grad-direction.ts';
import type { ExtraPass, MetricRow, TensorRow } from './types.ts';

type Key = { site: Site; layer: number };

export function directionPass(keys: readonly Key[], acc: DirectionAgreement): ExtraPass {
  const sites = [...new Set(keys.map((k) => k.site))];
  return {
    label: 'grads: per-example gradient directions',
    gradients: {
      metric: { kind: 'loss_sum' },
      sites: sites.map((site) => ({ site, reductions: ['seq_feature_sum'] })),
    },
    consume(batch, outputs) {
      const per = keys.map(({ site, layer }) => outputs.f32(grad(site, layer, 'seq_feature_sum'))); // [B, F]
      for (let b = 0; b < batch.B; b++) {
        acc.addExample(
          batch.sequenceIndex[b],
          per.map((g, k) => g.subarray(b * acc.sizes[k], (b + 1) * acc.sizes[k])),
        );
      }
    },
  };
}

export function directionRows(
  keys: readonly Key[],
  sites: readonly Site[],
  L: number,
  acc: DirectionAgreement,
  worst: number,
): { metrics: MetricRow[]; tensors: TensorRow[]; overall: number[] } {
  const { perKey, overall } = acc.cosines();
  const { N, K } = acc;
  const metrics: MetricRow[] = [];
  keys.forEach(({ site, layer }, k) => {
    let s = 0;
    let n = 0;
    for (let e = 0; e < N; e++) {
      const c = perKey[e * K + k];
      if (Number.isFinite(c)) {
        s += c;
        n += 1;
      }
    }
    metrics.push(metricRow('grads', 'direction_cosine_mean', site, layer, n > 0 ? s / n : NaN));
  });
  const order = Array.from({ length: N }, (_, e) => e)
    .filter((e) => Number.isFinite(overall[e]))
    .sort((a, b) => overall[a] - overall[b] || acc.index[a] - acc.index[b])
    .slice(0, worst);
  order.forEach((e, rank) => {
    const dim = acc.index[e];
    metrics.push(
      metricRow('grads', 'disagreeing_example_direction_cosine', null, null, overall[e], {
        dim,
        position: rank,
      }),
    );
    keys.forEach(({ site, layer }, k) =>
      metrics.push(
        metricRow('grads', 'disagreeing_example_direction_map', site, layer, perKey[e * K + k], {
          dim,
          position: rank,
        }),
      ),
    );
  });
  // Keys are sites x layers in that order (grads.ts), so [N, K] is [N, sites, layers].
  const map = Float32Array.from(perKey);
  return {
    metrics,
    tensors: [
      { name: 'grads/example_direction_cosine', shape: [N, sites.length, L], data: map },
      { name: 'grads/example_direction_index', shape: [N], data: Int32Array.from(acc.index) },
    ],
    overall: Array.from(overall),
  };
}
