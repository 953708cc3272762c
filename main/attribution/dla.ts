// Direct logit attribution and the logit lens of the tasks' clean prompts, as one extra pass with
// the read-out hooks of native-models/neox/hooks/direct-logit.ts (docs/METHODS.md "Direct logit
// attribution", "Logit lens"). Per task, the logit difference answer - distractor at the last
// position splits into the embedding, each layer's attention output (and each head's part of it,
// the rest being the output bias), each MLP output and the final LayerNorm bias, with the LayerNorm
// scale frozen at the clean value: completeness is checked per task against the model's own
// logits. Log-probability attribution of log p(answer) sums to log p(answer) + H(p). The lens gives,
// per layer, the KL of the final distribution to the lens distribution and its top tokens
// (native-models/neox/hooks/logit-lens.ts) and the lens logit difference (also of the embedding).
// Sums over tasks in Float64.

import {
  DLA_BIAS,
  DLA_ENTROPY,
  DLA_EXPECTED_BIAS,
  DLA_EXPECTED_HEADS,
  DLA_EXPECTED_PARTS,
  DLA_HEADS,
  DLA_LOGITS,
  DLA_LSE,
  DLA_PARTS,
  LENS_CANDIDATES,
  directLogitHooks,
} from '../../native-models/neox/hooks/direct-logit.ts';
import {
  lensIds,
  lensKl,
  lensLse,
  lensValues,
  logitLensHooks,
} from '../../native-models/neox/hooks/logit-lens.ts';
import type { NeoxConfig } from '../../native-models/neox/config.ts';
import type { ExtraPass } from '../analyses/types.ts';
import { metricRow } from '../library/metric-row.ts';
import type { MetricRow, TensorRow } from '../library/rows.ts';
import type { Task } from './tasks.ts';

export class DlaTally {
  n = 0;
  /** Parts in order embed, attn_out_0, mlp_out_0, ..., then the final LayerNorm bias. */
  readonly parts: Float64Array;
  readonly heads: Float64Array;
  readonly logprobParts: Float64Array;
  readonly logprobHeads: Float64Array;
  logitDiff = 0;
  logprobAnswer = 0;
  entropy = 0;
  /** max over tasks of |sum of parts - logit difference| and of the log-prob version. */
  completeness = 0;
  logprobCompleteness = 0;
  readonly lensKl: Float64Array;
  readonly lensDiff: Float64Array;
  readonly topIds: Int32Array;
  readonly topProbs: Float32Array;

  constructor(
    readonly L: number,
    readonly H: number,
    readonly nTasks: number,
    readonly k: number,
  ) {
    this.parts = new Float64Array(2 * L + 2);
    this.heads = new Float64Array(L * H);
    this.logprobParts = new Float64Array(2 * L + 2);
    this.logprobHeads = new Float64Array(L * H);
    this.lensKl = new Float64Array(L);
    this.lensDiff = new Float64Array(L + 1);
    this.topIds = new Int32Array(nTasks * L * k);
    this.topProbs = new Float32Array(nTasks * L * k);
  }

  rows(A: string): MetricRow[] {
    const { L, H, n } = this;
    const out: MetricRow[] = [];
    const site = (c: number): [string, number | null] =>
      c === 0
        ? ['embed', null]
        : c === 2 * L + 1
          ? ['ln_final', null]
          : [c % 2 === 1 ? 'attn_out' : 'mlp_out', (c - 1) >> 1];
    for (const [metric, parts, heads] of [
      ['dla', this.parts, this.heads],
      ['dla_logprob', this.logprobParts, this.logprobHeads],
    ] as const) {
      for (let c = 0; c < 2 * L + 2; c++) out.push(metricRow(A, metric, ...site(c), parts[c] / n));
      for (let l = 0; l < L; l++) {
        let sum = 0;
        for (let h = 0; h < H; h++) {
          sum += heads[l * H + h];
          out.push(metricRow(A, metric, 'attn_out', l, heads[l * H + h] / n, { head: h }));
        }
        out.push(metricRow(A, `${metric}_bias`, 'attn_out', l, (parts[1 + 2 * l] - sum) / n));
      }
    }
    out.push(metricRow(A, 'dla_total', null, null, this.logitDiff / n));
    out.push(metricRow(A, 'dla_completeness_error', null, null, this.completeness));
    out.push(metricRow(A, 'logprob_answer', null, null, this.logprobAnswer / n));
    out.push(metricRow(A, 'entropy', null, null, this.entropy / n));
    out.push(metricRow(A, 'dla_logprob_completeness_error', null, null, this.logprobCompleteness));
    out.push(metricRow(A, 'lens_logit_diff', 'embed', null, this.lensDiff[0] / n));
    for (let l = 0; l < L; l++) {
      out.push(metricRow(A, 'lens_kl', 'resid_post', l, this.lensKl[l] / n));
      out.push(metricRow(A, 'lens_logit_diff', 'resid_post', l, this.lensDiff[l + 1] / n));
    }
    return out;
  }

  tensors(A: string): TensorRow[] {
    const shape = [this.nTasks, this.L, this.k];
    return [
      { name: `${A}/lens_top_ids`, shape, data: this.topIds },
      { name: `${A}/lens_top_probs`, shape, data: this.topProbs },
    ];
  }
}

export function dlaPass(
  cfg: NeoxConfig,
  tasks: readonly Task[],
  candidates: readonly number[],
  tally: DlaTally,
): ExtraPass {
  const K = candidates.length;
  const col = new Map(candidates.map((id, k) => [id, k]));
  const L = cfg.numLayers;
  const H = cfg.numHeads;
  const C = 2 * L + 1;
  const k = tally.k;
  return {
    label: 'attribution: direct logit attribution and lens',
    inputs: tasks.map((t) => ({ ids: t.clean })),
    hooks: [...directLogitHooks(cfg, candidates), ...logitLensHooks({ k, rows: 'last' })],
    consume(batch, outputs) {
      const parts = outputs.f32(DLA_PARTS); // [B, C, K]
      const heads = outputs.f32(DLA_HEADS); // [B, L, H, K]
      const bias = outputs.f32(DLA_BIAS); // [1, K]
      const logits = outputs.f32(DLA_LOGITS); // [B, K]
      const eParts = outputs.f32(DLA_EXPECTED_PARTS); // [B, C]
      const eHeads = outputs.f32(DLA_EXPECTED_HEADS); // [B, L, H]
      const eBias = outputs.f32(DLA_EXPECTED_BIAS); // [B]
      const lse = outputs.f32(DLA_LSE);
      const ent = outputs.f32(DLA_ENTROPY);
      const lensC = outputs.f32(LENS_CANDIDATES); // [B, L+1, K]
      const lens = Array.from({ length: L }, (_, l) => ({
        kl: outputs.f32(lensKl(l)), // [B]
        values: outputs.f32(lensValues(l)), // [B, k] logits
        ids: outputs.i64(lensIds(l)),
        lse: outputs.f32(lensLse(l)), // [B]
      }));
      for (let r = 0; r < batch.B; r++) {
        const task = batch.sequenceIndex[r];
        const t = tasks[task];
        const a = col.get(t.answer)!;
        const d = col.get(t.distractor)!;
        const diff = (arr: Float32Array, at: number) => arr[at * K + a] - arr[at * K + d];
        let sum = 0;
        let lpSum = 0;
        for (let c = 0; c < C; c++) {
          const v = diff(parts, r * C + c);
          tally.parts[c] += v;
          sum += v;
          const lp = parts[(r * C + c) * K + a] - eParts[r * C + c];
          tally.logprobParts[c] += lp;
          lpSum += lp;
        }
        const bd = bias[a] - bias[d];
        tally.parts[C] += bd;
        sum += bd;
        const blp = bias[a] - eBias[r];
        tally.logprobParts[C] += blp;
        lpSum += blp;
        for (let i = 0; i < L * H; i++) {
          tally.heads[i] += diff(heads, r * L * H + i);
          tally.logprobHeads[i] += heads[(r * L * H + i) * K + a] - eHeads[r * L * H + i];
        }
        const whole = logits[r * K + a] - logits[r * K + d];
        const logpA = logits[r * K + a] - lse[r];
        tally.logitDiff += whole;
        tally.logprobAnswer += logpA;
        tally.entropy += ent[r];
        tally.completeness = Math.max(tally.completeness, Math.abs(sum - whole));
        tally.logprobCompleteness = Math.max(tally.logprobCompleteness, Math.abs(lpSum - (logpA + ent[r])));
        for (let l = 0; l <= L; l++) tally.lensDiff[l] += diff(lensC, r * (L + 1) + l);
        lens.forEach((x, l) => {
          tally.lensKl[l] += x.kl[r];
          for (let j = 0; j < k; j++) {
            const to = (task * L + l) * k + j;
            tally.topIds[to] = Number(x.ids[r * k + j]);
            tally.topProbs[to] = Math.exp(x.values[r * k + j] - x.lse[r]);
          }
        });
        tally.n += 1;
      }
    },
  };
}
