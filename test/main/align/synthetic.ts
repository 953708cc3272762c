// Synthetic trajectories for the DBA tests and bench: a smooth random template, and sequences made
// by warping it in time (a random monotone map onto the template's positions) with Gaussian noise.
import type { Trajectory } from '../../../main/align/trajectory.ts';
import { gauss } from '../stats/helpers.ts';

/** A smooth random template [T, d]: per feature, three sinusoids of 0.5-3 cycles over T. */
export function smoothTemplate(u: () => number, T: number, d: number): Trajectory {
  const data = new Float64Array(T * d); // [T, d]
  for (let k = 0; k < d; k++) {
    for (let m = 0; m < 3; m++) {
      const cycles = 0.5 + 2.5 * u();
      const phase = 2 * Math.PI * u();
      const amp = (0.5 + u()) / (m + 1);
      for (let t = 0; t < T; t++) data[t * d + k] += amp * Math.sin((2 * Math.PI * cycles * t) / T + phase);
    }
  }
  return { data, length: T, dim: d };
}

/** A random monotone map of L positions onto [0, T - 1], from 0 to T - 1 (increments in [0.3, 1.7]). */
export function randomWarp(u: () => number, L: number, T: number): Float64Array {
  const pos = new Float64Array(L); // [L]
  for (let j = 1; j < L; j++) pos[j] = pos[j - 1] + 0.3 + 1.4 * u();
  const scale = L > 1 ? (T - 1) / pos[L - 1] : 0;
  for (let j = 0; j < L; j++) pos[j] *= scale;
  return pos;
}

/** The template read at the warp's positions (linear interpolation) plus N(0, sigma^2) noise: [L, d]. */
export function warpedCopy(
  u: () => number,
  template: Trajectory,
  L: number,
  sigma: number,
  out: Float32Array | Float64Array = new Float64Array(L * template.dim),
): Trajectory {
  const { length: T, dim: d, data } = template;
  const pos = randomWarp(u, L, T);
  for (let j = 0; j < L; j++) {
    const i0 = Math.min(Math.floor(pos[j]), T - 1);
    const i1 = Math.min(i0 + 1, T - 1);
    const f = pos[j] - i0;
    for (let k = 0; k < d; k++) {
      out[j * d + k] = (1 - f) * data[i0 * d + k] + f * data[i1 * d + k] + sigma * gauss(u);
    }
  }
  return { data: out, length: L, dim: d };
}
