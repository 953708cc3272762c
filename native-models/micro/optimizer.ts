// AdamW (Loshchilov & Hutter 2019, "Decoupled Weight Decay Regularization"; Kingma & Ba 2015,
// "Adam") exactly as torch.optim.AdamW computes one step (amsgrad off, not maximize):
//
//   p <- p * (1 - lr * wd)                          (decoupled decay; matrices only, see below)
//   m <- m + (1 - beta1) * (g - m)                  (torch: exp_avg.lerp_(grad, 1 - beta1))
//   v <- beta2 * v + (1 - beta2) * g * g
//   p <- p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
//
// with GPT-NeoX's (Pythia's) choices: betas (0.9, 0.95), eps 1e-8, weight decay 0.1 applied to
// weight matrices and embeddings only, never to biases or LayerNorm parameters
// (megatron/model/utils.py `get_params_for_weight_decay_optimization`). Gradients are clipped to a
// global L2 norm of 1.0 first, as torch.nn.utils.clip_grad_norm_ does in GPT-NeoX
// (`gradient_clipping`). The learning rate follows GPT-NeoX's AnnealingLR 'cosine' style: a linear
// warm-up over 1% of the steps, then a cosine decay to 10% of the peak (Biderman et al. 2023,
// Pythia, appendix E).
//
// State lives in Float32Arrays (as torch keeps it for float32 parameters); each element is computed
// in double precision and rounded once when stored, so a run is bit-for-bit reproducible in any
// JavaScript engine. The state serialises to plain tensors plus a small JSON record (train-state.ts).

import type { StateDict, Tensor } from '../weights/types.ts';

export interface AdamWOptions {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

/** GPT-NeoX / Pythia's AdamW settings. */
export const NEOX_ADAMW: Readonly<AdamWOptions> = Object.freeze({
  beta1: 0.9,
  beta2: 0.95,
  eps: 1e-8,
  weightDecay: 0.1,
});

export interface LrSchedule {
  /** Peak learning rate, reached at the end of the warm-up. */
  peakLr: number;
  /** Total optimiser updates of the run. */
  totalSteps: number;
  /** Share of totalSteps spent warming up linearly (default 0.01). */
  warmupFraction?: number;
  /** Floor of the cosine decay as a share of the peak (default 0.1). */
  minLrRatio?: number;
}

/** Warm-up updates: 1% of the run, at least one. */
export function warmupSteps(s: LrSchedule): number {
  return Math.max(1, Math.round((s.warmupFraction ?? 0.01) * s.totalSteps));
}

/**
 * Learning rate of update `step` (0-based: the update that turns checkpoint `step` into `step + 1`).
 * With t = step + 1 and W warm-up updates: peak * t / W for t <= W, then
 * min + (peak - min) / 2 * (1 + cos(pi * (t - W) / (N - W))), reaching min = ratio * peak at t = N.
 * (GPT-NeoX's AnnealingLR uses t = step, so its first update has learning rate 0 and Pythia's
 * step1 equals step0 up to Adam's state; here every update moves the weights.)
 */
export function learningRate(step: number, s: LrSchedule): number {
  if (!Number.isInteger(step) || step < 0)
    throw new Error(`step must be a non-negative integer, got ${step}`);
  const peak = s.peakLr;
  const min = peak * (s.minLrRatio ?? 0.1);
  const W = warmupSteps(s);
  const t = Math.min(step + 1, s.totalSteps);
  if (t <= W) return (peak * t) / W;
  const progress = (t - W) / Math.max(1, s.totalSteps - W);
  return min + ((peak - min) / 2) * (1 + Math.cos(Math.PI * progress));
}

/** Whether GPT-NeoX decays a parameter: weight matrices and embeddings (rank >= 2), not biases or LayerNorm. */
export function decays(shape: readonly number[]): boolean {
  return shape.length >= 2;
}

/** The global L2 norm of all gradients (torch.nn.utils.clip_grad_norm_'s total_norm), in double precision. */
export function globalGradNorm(grads: Iterable<Float32Array>): number {
  let sum = 0;
  for (const g of grads) for (let i = 0; i < g.length; i++) sum += g[i] * g[i];
  return Math.sqrt(sum);
}

/**
 * The factor clip_grad_norm_ multiplies every gradient by: min(1, maxNorm / (norm + 1e-6)).
 * GPT-NeoX trains Pythia with gradient clipping at 1.0.
 */
export function clipCoefficient(norm: number, maxNorm: number): number {
  return Math.min(1, maxNorm / (norm + 1e-6));
}

/** Everything needed to resume: the update count and both moment buffers per parameter. */
export interface AdamWState {
  /** Updates taken so far (t of the last update). */
  step: number;
  options: AdamWOptions;
  /** First moments (torch's exp_avg), by parameter name. */
  expAvg: Map<string, Float32Array>;
  /** Second moments (torch's exp_avg_sq), by parameter name. */
  expAvgSq: Map<string, Float32Array>;
}

export class AdamW {
  private state: AdamWState;

  /** Fresh state (zero moments, step 0) for `params`' names and sizes, or a saved state to resume. */
  constructor(params: ReadonlyMap<string, Tensor> | AdamWState, options: AdamWOptions = NEOX_ADAMW) {
    if (params instanceof Map) {
      const expAvg = new Map<string, Float32Array>();
      const expAvgSq = new Map<string, Float32Array>();
      for (const [name, t] of params) {
        expAvg.set(name, new Float32Array(t.data.length));
        expAvgSq.set(name, new Float32Array(t.data.length));
      }
      this.state = { step: 0, options: { ...options }, expAvg, expAvgSq };
    } else {
      this.state = params as AdamWState;
    }
  }

  /** Updates taken so far. */
  get step(): number {
    return this.state.step;
  }

  /** The live state (not a copy): serialise it between updates. */
  get stateDict(): AdamWState {
    return this.state;
  }

  /**
   * One update of every parameter in `params` (in place) from `grads` at learning rate `lr`.
   * `gradScale` multiplies every gradient first (1 / number of target tokens for a mean loss).
   */
  update(params: StateDict, grads: ReadonlyMap<string, Float32Array>, lr: number, gradScale = 1): void {
    const { beta1, beta2, eps, weightDecay } = this.state.options;
    const t = this.state.step + 1;
    const stepSize = lr / (1 - beta1 ** t);
    const bc2Sqrt = Math.sqrt(1 - beta2 ** t);
    for (const [name, p] of params) {
      const g = grads.get(name);
      const m = this.state.expAvg.get(name);
      const v = this.state.expAvgSq.get(name);
      if (!g || !m || !v) throw new Error(`AdamW: no gradient or state for parameter '${name}'`);
      if (g.length !== p.data.length || m.length !== p.data.length) {
        throw new Error(`AdamW: '${name}' has ${p.data.length} values but ${g.length} gradients`);
      }
      const keep = decays(p.shape) ? 1 - lr * weightDecay : 1;
      const w = p.data;
      // The moments are read back as stored (float32, Math.fround), as torch's buffers are; keeping
      // them in locals saves the reloads the engine must do when m, v and w might share memory.
      const c1 = 1 - beta1;
      const c2 = 1 - beta2;
      const n = w.length;
      for (let i = 0; i < n; i++) {
        const gi = g[i] * gradScale;
        const m0 = m[i];
        const mi = Math.fround(m0 + c1 * (gi - m0));
        const vi = Math.fround(beta2 * v[i] + c2 * gi * gi);
        m[i] = mi;
        v[i] = vi;
        w[i] = w[i] * keep - (stepSize * mi) / (Math.sqrt(vi) / bc2Sqrt + eps);
      }
    }
    this.state.step = t;
  }
}
