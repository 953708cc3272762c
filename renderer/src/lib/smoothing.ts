// TensorBoard's scalar smoothing: an exponential moving average with weight w in [0, 1), debiased
// so the first points are not pulled towards zero (s_t = w s_{t-1} + (1 - w) x_t, shown as
// s_t / (1 - w^(t+1)), counting only finite points). w = 0 returns the raw values. Non-finite points
// stay NaN and do not enter the average. Tested in test/renderer/lib/smoothing.test.ts.

export function smooth(values: readonly number[], w: number): number[] {
  if (!(w > 0)) return [...values];
  const weight = Math.min(w, 0.999);
  let s = 0;
  let n = 0;
  return values.map((x) => {
    if (!Number.isFinite(x)) return NaN;
    s = weight * s + (1 - weight) * x;
    n += 1;
    return s / (1 - weight ** n);
  });
}
