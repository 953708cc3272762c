// Per-example parameter-gradient norms from in-graph reductions (per-example.ts) against brute
// force: each example of the fixture batch (tiny-neox and tiny-neox-3l from make_fixtures.py, with
// padding) run alone through the same backward, whose parameter gradient's squared norm ('sumsq')
// is then that example's; every parameter (linear weights and biases, LayerNorm scales and
// biases, both embeddings) agrees to 1e-4 relative.

import { describe, expect, it } from 'vitest';
import { addressName, paramGrad } from '../../../native-models/neox/address.ts';
import { serializeModel } from '../../../native-models/graph/onnx.ts';
import { buildNeoxGradientGraph } from '../../../native-models/neox/backward.ts';
import { batchFeeds, createSession } from '../../../native-models/runtime/session.ts';
import { loadFixture } from './fixture.ts';

for (const name of ['tiny-neox', 'tiny-neox-3l']) {
  describe(`per-example parameter-gradient norms: ${name}`, () => {
    it('equal each example run alone (1e-4)', async () => {
      const fx = await loadFixture(name);
      const names = fx.manifest.parameter_names;
      const built = buildNeoxGradientGraph(fx.config, fx.weights, {
        params: { reductions: ['example_sumsq', 'sumsq'] },
      });
      const { session } = await createSession(serializeModel(built.graph), { device: 'cpu', threads: 1 });
      const all = await session.run(batchFeeds(fx.B, fx.T, fx.inputIds, fx.attentionMask, fx.lossMask));
      let checked = 0;
      for (let b = 0; b < fx.B; b++) {
        const row = (a: ArrayLike<number | bigint>) => Array.from(a).slice(b * fx.T, (b + 1) * fx.T);
        const one = await session.run(
          batchFeeds(
            1,
            fx.T,
            BigInt64Array.from(row(fx.inputIds) as bigint[]),
            Float32Array.from(row(fx.attentionMask) as number[]),
            Float32Array.from(row(fx.lossMask) as number[]),
          ),
        );
        for (const p of names) {
          const want = (one[addressName(paramGrad(p, 'sumsq'))].data as Float32Array)[0];
          const got = (all[addressName(paramGrad(p, 'example_sumsq'))].data as Float32Array)[b];
          expect(want, p).toBeGreaterThan(0);
          expect(Math.abs(got - want) / want, `${p} example ${b}`).toBeLessThan(1e-4);
          checked++;
        }
      }
      // The batch's own norm is not the sum of the examples' (the check above is not vacuous).
      const p0 = names[names.length - 1];
      const total = (all[addressName(paramGrad(p0, 'sumsq'))].data as Float32Array)[0];
      const parts = Array.from(all[addressName(paramGrad(p0, 'example_sumsq'))].data as Float32Array);
      expect(Math.abs(total - parts.reduce((x, y) => x + y, 0)) / total).toBeGreaterThan(1e-3);
      expect(checked).toBe(fx.B * names.length);
      await session.release();
    });
  });
}
