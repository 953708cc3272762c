// `behaviour`: whether a checkpoint does the in-context tasks its training text teaches, as metrics
// a checkpoint timeline can show. The analysis does not read the run's dataset for these: it asks a
// fixed, labelled probe set (main/probes/probe-set.ts `probeSet`, tokenised by
// main/probes/behaviour-probes.ts) in one extra pass with its own sequences, and reads at each
// prompt's last position only the candidate tokens' logits and the log-sum-exp
// (native-models/neox/hooks/last-position.ts). Metrics (site and layer NULL):
// - ioi_logit_diff: mean over IOI prompts of z(indirect object) - z(subject), first tokens, at the
//   last prompt position; ioi_accuracy: share of prompts where it is positive (Wang et al. 2022,
//   "Interpretability in the Wild").
// - year_greater_prob: mean over year-span prompts of sum_{yy > YY} p(yy) - sum_{yy <= YY} p(yy)
//   over the two-digit tokens "00".."99" (Hanna, Liu & Variengien 2023, "How does GPT-2 compute
//   greater-than?", probability difference); no row when the tokenizer has no two-digit tokens.
// - induction_loss_first / induction_loss_second: mean next-token loss over the tokens of the first
//   and second copy of repeated random runs, leaving out each copy's first token (the targets are
//   then the same tokens in both copies); induction_score = first - second (Olsson et al. 2022,
//   "In-context Learning and Induction Heads").
// - ioi_prompts, year_prompts, induction_runs: how many probes were used.
// Options: behaviour_seed (the probe set; default the micro corpus seed), behaviour_ioi,
// behaviour_years, behaviour_induction (probe counts, default 32 each).

import { probeSet } from '../probes/probe-set.ts';
import { MICRO_RECIPE } from '../../native-models/micro/suite.ts';
import { TOKEN_LOSS } from '../../native-models/neox/address.ts';
import {
  CANDIDATE_LOGITS,
  LAST_LSE,
  lastPositionHook,
} from '../../native-models/neox/hooks/last-position.ts';
import { numberOption } from '../options/read.ts';
import { candidateIds, tokeniseProbes } from '../probes/behaviour-probes.ts';
import type { BehaviourProbes } from '../probes/behaviour-probes.ts';
import type { Analysis, AnalysisResult, ExtraPass, MetricRow, RunContext } from './types.ts';
import { metricRow } from '../library/metric-row.ts';

/** Probe counts when no option is given. */
export const DEFAULT_PROBE_COUNT = 32;

/** The probe set of a run's options, tokenised for its tokenizer and context. */
export function behaviourProbes(ctx: RunContext): BehaviourProbes {
  const count = (name: string) => numberOption(ctx, name);
  const set = probeSet(numberOption(ctx, 'behaviour_seed'), {
    ioi: count('behaviour_ioi'),
    yearSpan: count('behaviour_years'),
    induction: count('behaviour_induction'),
    lists: 0,
  });
  return tokeniseProbes(ctx.tokenizer, set, {
    prependBos: ctx.prependBos ?? false,
    maxTokens: ctx.config.maxPositions,
  });
}

/** Hanna et al.'s probability difference from the 100 two-digit logits z[yy] and the log-sum-exp. */
export function greaterProb(z: ArrayLike<number>, lse: number, startYY: number): number {
  let d = 0;
  for (let yy = 0; yy < 100; yy++) {
    const p = Math.exp(z[yy] - lse);
    d += yy > startYY ? p : -p;
  }
  return d;
}

/** Float64 sums of every metric's terms. */
export class BehaviourTally {
  ioiDiff = 0;
  ioiRight = 0;
  ioiCount = 0;
  yearDiff = 0;
  yearCount = 0;
  /** Loss sums and target counts over the first and second copies. */
  firstLoss = 0;
  firstCount = 0;
  secondLoss = 0;
  secondCount = 0;
  runs = 0;

  addIoi(diff: number): void {
    this.ioiDiff += diff;
    if (diff > 0) this.ioiRight += 1;
    this.ioiCount += 1;
  }

  addYear(probDiff: number): void {
    this.yearDiff += probDiff;
    this.yearCount += 1;
  }

  /** One run: token_loss of its row ([T-1], position t predicts t + 1), its first copy's start and length. */
  addRun(tokenLoss: ArrayLike<number>, at: number, start: number, length: number): void {
    for (let j = start + 1; j < start + length; j++) {
      this.firstLoss += tokenLoss[at + j - 1];
      this.secondLoss += tokenLoss[at + j + length - 1];
    }
    this.firstCount += length - 1;
    this.secondCount += length - 1;
    this.runs += 1;
  }

  rows(): MetricRow[] {
    const out: MetricRow[] = [];
    const row = (metric: string, value: number) =>
      out.push(metricRow('behaviour', metric, null, null, value));
    if (this.ioiCount > 0) {
      row('ioi_logit_diff', this.ioiDiff / this.ioiCount);
      row('ioi_accuracy', this.ioiRight / this.ioiCount);
    }
    if (this.yearCount > 0) row('year_greater_prob', this.yearDiff / this.yearCount);
    if (this.firstCount > 0) {
      const first = this.firstLoss / this.firstCount;
      const second = this.secondLoss / this.secondCount;
      row('induction_loss_first', first);
      row('induction_loss_second', second);
      row('induction_score', first - second);
    }
    row('ioi_prompts', this.ioiCount);
    row('year_prompts', this.yearCount);
    row('induction_runs', this.runs);
    return out;
  }
}

/** The one extra pass over every probe, feeding `tally`. Null when no probe is left. */
export function behaviourPass(probes: BehaviourProbes, tally: BehaviourTally): ExtraPass | null {
  const { ioi, years, induction } = probes;
  const inputs = [...ioi, ...years, ...induction].map((p) => ({ ids: p.ids }));
  if (inputs.length === 0) return null;
  const candidates = candidateIds(probes);
  const column = new Map(candidates.map((id, k) => [id, k]));
  const yearCols = years.length > 0 ? probes.yearTokens!.map((id) => column.get(id)!) : [];
  const K = candidates.length;
  const nPrompts = ioi.length + years.length;
  return {
    label: 'behaviour: probes',
    inputs,
    hooks: K > 0 ? [lastPositionHook(candidates)] : [],
    consume(batch, outputs) {
      const { B, T } = batch;
      const z = K > 0 ? outputs.f32(CANDIDATE_LOGITS) : null; // [B, K]
      const lse = K > 0 ? outputs.f32(LAST_LSE) : null; // [B]
      const tokenLoss = outputs.f32(TOKEN_LOSS); // [B, T-1]
      const zy = new Float64Array(100);
      for (let b = 0; b < B; b++) {
        const i = batch.sequenceIndex[b];
        if (i < ioi.length) {
          const p = ioi[i];
          tally.addIoi(z![b * K + column.get(p.correct)!] - z![b * K + column.get(p.incorrect)!]);
        } else if (i < nPrompts) {
          for (let yy = 0; yy < 100; yy++) zy[yy] = z![b * K + yearCols[yy]];
          tally.addYear(greaterProb(zy, lse![b], years[i - ioi.length].startYY));
        } else {
          const r = induction[i - nPrompts];
          tally.addRun(tokenLoss, b * (T - 1), r.start, r.length);
        }
      }
    },
  };
}

export const behaviour: Analysis = {
  name: 'behaviour',
  description:
    'In-context behaviour on fixed probes: IOI logit difference and accuracy, greater-than probability on year spans, and induction loss on the repeat of repeated runs.',
  options: [
    {
      name: 'behaviour_seed',
      type: 'integer',
      default: MICRO_RECIPE.corpus.seed,
      help: 'the seed of the probe set (default: the micro corpus seed)',
    },
    {
      name: 'behaviour_ioi',
      type: 'integer',
      min: 0,
      max: 10000,
      default: DEFAULT_PROBE_COUNT,
      help: 'IOI prompts',
    },
    {
      name: 'behaviour_years',
      type: 'integer',
      min: 0,
      max: 10000,
      default: DEFAULT_PROBE_COUNT,
      help: 'year-span prompts',
    },
    {
      name: 'behaviour_induction',
      type: 'integer',
      min: 0,
      max: 10000,
      default: DEFAULT_PROBE_COUNT,
      help: 'repeated random runs',
    },
  ],
  start(ctx) {
    const probes = behaviourProbes(ctx);
    const tally = new BehaviourTally();
    return {
      consume() {},
      toJSON: () => ({}),
      fromJSON() {},
      passes() {
        const pass = behaviourPass(probes, tally);
        return pass ? [pass] : [];
      },
      finish(): AnalysisResult {
        return { metrics: tally.rows(), tensors: [] };
      },
    };
  },
};
