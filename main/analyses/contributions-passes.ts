// The `contributions` analysis' extra pass: head scores on repeated random tokens, the standard
// induction-head probe (Olsson et al. 2022, "In-context Learning and Induction Heads"; the
// TransformerLens / ARENA convention: <|endoftext|> then R uniformly random token ids, then the same
// R again). Per (layer, head) and sequence, each of TransformerLens' detection scores (previous,
// duplicate, induction token; native-models/neox/hooks/contribution-stats.ts) is averaged over the
// queries of the second copy (positions R + 1 .. 2R), where the induction pattern picks exactly the
// token after the earlier occurrence (so the induction score is ARENA's mean of the attention
// diagonal at offset R - 1 when the R tokens are distinct), then over sequences. The same pass gives
// the induction loss gap: the mean next-token loss over the first copy minus over the second,
// leaving out each copy's first token (as `behaviour` does on its word runs). With
// `contrib_repeat_source=words` the runs are word runs of the probe set (main/probes/probe-set.ts,
// the micro corpus's run words, R their token count) instead of random ids: the in-distribution
// repeats the micro suite learns from. docs/METHODS.md "Q, K, V patterns".

import { createRng } from '../../native-models/micro/rng.ts';
import { hookOut, TOKEN_LOSS } from '../../native-models/neox/address.ts';
import type { NeoxConfig } from '../../native-models/neox/config.ts';
import { contributionStatsHook } from '../../native-models/neox/hooks/contribution-stats.ts';
import type { TextTokenizer } from '../../native-models/tokenizer/types.ts';
import { probeSet } from '../probes/probe-set.ts';
import { restore, snapshot, type State } from '../stats/state.ts';
import type { ExtraPass } from './types.ts';

export const REP_SCORES = ['prev', 'duplicate', 'induction'] as const;

/** One probe: BOS, a run of R tokens, the same R tokens. */
export interface RepeatSequence {
  ids: number[];
  R: number;
}

/** `count` sequences of BOS + R random ids + the same R ids; ids from [0, vocab) without the BOS id. */
export function repeatedRandomTokens(
  tokenizer: TextTokenizer,
  vocab: number,
  count: number,
  length: number,
  seed: number,
): RepeatSequence[] {
  const rng = createRng(seed);
  const bos = tokenizer.eosId;
  const out: RepeatSequence[] = [];
  for (let s = 0; s < count; s++) {
    const run: number[] = [];
    while (run.length < length) {
      const id = rng.int(vocab);
      if (id !== bos) run.push(id);
    }
    out.push({ ids: [bos, ...run, ...run], R: length });
  }
  return out;
}

/** `count` word runs of the probe set (8 to 16 distinct words), each tokenised once and repeated. */
export function repeatedWordRuns(
  tokenizer: TextTokenizer,
  count: number,
  maxTokens: number,
  seed: number,
): RepeatSequence[] {
  const set = probeSet(seed, { ioi: 0, yearSpan: 0, induction: count, lists: 0 });
  return set.induction
    .map((r) => tokenizer.encode(` ${r.words.join(' ')}`))
    .filter((run) => run.length >= 2 && 1 + 2 * run.length <= maxTokens)
    .map((run) => ({ ids: [tokenizer.eosId, ...run, ...run], R: run.length }));
}

/** Float64 sums of the per-sequence second-copy scores and of the two copies' losses. */
export class RepeatTally {
  heads: Float64Array;
  seqs = 0;
  firstLoss = 0;
  secondLoss = 0;
  targets = 0;

  constructor(
    readonly L: number,
    readonly H: number,
  ) {
    this.heads = new Float64Array(L * H * REP_SCORES.length);
  }

  score(l: number, h: number, which: (typeof REP_SCORES)[number]): number {
    return this.seqs > 0 ? this.heads[(l * this.H + h) * 3 + REP_SCORES.indexOf(which)] / this.seqs : NaN;
  }

  /** Mean loss over the first copy minus over the second (NaN before any sequence). */
  lossGap(): number {
    return this.targets > 0 ? (this.firstLoss - this.secondLoss) / this.targets : NaN;
  }

  toJSON(): State {
    return snapshot(this, ['heads', 'seqs', 'firstLoss', 'secondLoss', 'targets']);
  }

  fromJSON(state: State): void {
    restore(this, state, ['heads', 'seqs', 'firstLoss', 'secondLoss', 'targets']);
  }
}

/** The pass over the repeated sequences (each 1 + 2R tokens), feeding `tally`. */
export function repeatPass(
  cfg: NeoxConfig,
  seqs: RepeatSequence[],
  what: string,
  blockSize: number,
  tally: RepeatTally,
): ExtraPass {
  const parts = ['prev', 'dup', 'ind'] as const;
  const longest = Math.max(...seqs.map((q) => q.ids.length));
  return {
    label: `contributions: ${seqs.length} repeated ${what}`,
    inputs: seqs.map((q) => ({ ids: q.ids })),
    hooks: [contributionStatsHook(cfg, { blockSize, maxTokens: longest, prefix: 'contrib_rep' })],
    consume(batch, outputs) {
      const { B, T } = batch;
      const H = cfg.numHeads;
      const Rs = batch.sequenceIndex.map((i) => seqs[i].R);
      for (let l = 0; l < cfg.numLayers; l++) {
        const got = parts.map((p) => outputs.f32(hookOut('contrib_rep', l, p)));
        for (let b = 0; b < B; b++) {
          const R = Rs[b];
          for (let h = 0; h < H; h++) {
            const o = (b * H + h) * T;
            for (let k = 0; k < 3; k++) {
              let s = 0;
              for (let i = R + 1; i <= 2 * R; i++) s += got[k][o + i];
              tally.heads[(l * H + h) * 3 + k] += s / R;
            }
          }
        }
      }
      const loss = outputs.f32(TOKEN_LOSS); // [B, T-1]: position t predicts t + 1
      for (let b = 0; b < B; b++) {
        const R = Rs[b];
        const at = b * (T - 1);
        for (let t = 1; t < R; t++) {
          tally.firstLoss += loss[at + t]; // predicts position t + 1 in 2..R
          tally.secondLoss += loss[at + R + t]; // predicts position R + t + 1 in R + 2..2R
        }
        tally.targets += R - 1;
        tally.seqs += 1;
      }
    },
  };
}
