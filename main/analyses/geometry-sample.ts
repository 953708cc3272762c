// The fixed token sample of the `geometry` analysis (docs/METHODS.md "Representation geometry"):
// the tokens whose activations make the centred Gram matrices that linear CKA (Kornblith et al.
// 2019) compares across layers, checkpoints and sizes without running anything again. It depends
// only on the tokenised dataset and the run's sequence cap, never on the model or the batching, so
// two runs over the same dataset with the same tokenizer (every Pythia size and checkpoint) hold
// the same tokens. Rule: positions 1, 2, 3, 4, 6, 8, 12, 16, ... (two per octave: 2^k and 3 2^(k-1))
// below the sequence cap, position 0 left out (the first token carries the attention sink and
// massive activations, whose norm would dominate every Gram); sequences in dataset order, each
// giving the listed positions it reaches, until the sample holds `size` tokens.

/** Positions 1, 2, 3, 4, 6, 8, 12, ... below seqLen (two per octave). */
export function samplePositions(seqLen: number): number[] {
  const out: number[] = [];
  for (let p = 1; p < seqLen; p *= 2) {
    out.push(p);
    const mid = p + p / 2;
    if (p >= 2 && mid < seqLen) out.push(mid);
  }
  return out;
}

export interface SamplePlan {
  /** The positions the graph gathers from every row. */
  positions: number[];
  /** (sequence, position) of each sample slot, in slot order. */
  entries: { sequence: number; position: number }[];
  /** sequence -> (index into positions -> slot). */
  slots: Map<number, Map<number, number>>;
}

/** The sample of at most `size` tokens over sequences of these lengths (dataset order). */
export function samplePlan(lengths: readonly number[], seqLen: number, size: number): SamplePlan {
  const positions = size > 0 ? samplePositions(seqLen) : [];
  const entries: SamplePlan['entries'] = [];
  const slots = new Map<number, Map<number, number>>();
  for (let i = 0; i < lengths.length && entries.length < size; i++) {
    positions.forEach((p, k) => {
      if (p >= lengths[i] || entries.length >= size) return;
      const mine = slots.get(i) ?? new Map<number, number>();
      mine.set(k, entries.length);
      slots.set(i, mine);
      entries.push({ sequence: i, position: p });
    });
  }
  return { positions, entries, slots };
}
