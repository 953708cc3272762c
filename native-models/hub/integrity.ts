// Checkpoint integrity flags for one model, from what the hub lists for each revision (the weight
// files' LFS sha256 and sizes, native-models/hub/integrity-scan.ts) and, where read, the weight
// statistics of weight-stats.ts. What the Pythia repositories were found to hold (EleutherAI/pythia
// issues #83: step0 = step1; #195: pythia-2.8b steps 0-6300 identical; #205: 86 pythia-2.8b
// branches serving final-era content, `main` identical to 76 of them and not to step143000; #206:
// two pythia-12b branches whose first shard is the final model's) gives the rules:
//   duplicate  the step's weight files hash the same as another step's (the whole set of files);
//   misplaced  the step cannot hold its own step's weights: identical to a step it is not adjacent
//              to while the steps between differ; identical to `main` (the final model) without being
//              the last step; the last step differing from `main`; one shard identical to another
//              step's while the rest differ; its embeddings byte-identical to another step's while
//              the files differ; tensors of another shape than the model's;
//   size       its weight bytes differ from what most of the model's checkpoints (of the same file
//              layout) hold, or are too few for the model's parameters at 2 bytes each;
//   missing    the revision lists no complete set of weights, or the hub has no such branch.
// Every rule compares hashes or counts; nothing is guessed from values. docs/METHODS.md
// "Checkpoint integrity".

import { flagDuplicateRevisions } from './duplicates.ts';
import type { WeightFormat } from './formats.ts';
import type { WeightStats } from './weight-stats.ts';

export interface ListedWeightFile {
  path: string;
  size: number;
  /** LFS sha256 (null where the hub gave none). */
  sha256: string | null;
}

/** What the hub's tree listing says about one revision's weights. */
export interface RevisionListing {
  revision: string;
  /** Training step for `stepN` branches, null for `main`. */
  step: number | null;
  format: WeightFormat | null;
  weightFiles: ListedWeightFile[];
  /** One sha256 over the weight files (duplicates.ts weightsDigest), null when unknown. */
  weightsDigest: string | null;
  weightBytes: number;
  /** The hub has no such branch. */
  absent?: boolean;
}

export type FlagKind = 'duplicate' | 'misplaced' | 'size' | 'missing';

export interface CheckpointFlag {
  kind: FlagKind;
  /** One sentence for the UI and the CLI. */
  detail: string;
  /** The revisions this one is identical to (whole or in part), in training order. */
  sameAs: string[];
}

export interface StepIntegrity {
  step: number;
  revision: string;
  weightsDigest: string | null;
  flags: CheckpointFlag[];
}

export interface FlagOptions {
  /** The model's parameter count (bytes below 2 per parameter are flagged). */
  totalParams: number;
  /** The schedule's last step (the one `main` should equal). */
  lastStep: number;
}

const short = (h: string): string => h.slice(0, 12);

function mode(values: number[]): number | null {
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best: number | null = null;
  let n = 0;
  for (const [v, c] of counts) if (c > n || (c === n && best !== null && v > best)) [best, n] = [v, c];
  return n > values.length / 2 ? best : null;
}

/** Flags per step, in training order; `stats` maps weightsDigest -> statistics where read. */
export function flagCheckpoints(
  listings: readonly RevisionListing[],
  o: FlagOptions,
  stats: ReadonlyMap<string, WeightStats> = new Map(),
): StepIntegrity[] {
  const steps = listings
    .filter((l): l is RevisionListing & { step: number } => l.step !== null)
    .sort((a, b) => a.step - b.step);
  const main = listings.find((l) => l.revision === 'main');
  const out = new Map<string, StepIntegrity>(
    steps.map((l) => [
      l.revision,
      { step: l.step, revision: l.revision, weightsDigest: l.weightsDigest, flags: [] },
    ]),
  );
  const add = (revision: string, flag: CheckpointFlag): void => {
    out.get(revision)?.flags.push(flag);
  };
  const stepOf = new Map(steps.map((l, i) => [l.revision, i]));
  // The last step, when main serves the same weights, is taken to be right: what shares its weights
  // (or a shard of them) is the misplaced one.
  const trusted = (l: RevisionListing): boolean =>
    l.step === o.lastStep && l.weightsDigest !== null && l.weightsDigest === main?.weightsDigest;

  for (const l of steps) {
    if (l.format === null)
      add(l.revision, {
        kind: 'missing',
        detail: l.absent
          ? `${l.revision} is not on the hub.`
          : `${l.revision} lists no complete set of weights.`,
        sameAs: [],
      });
  }

  // Whole-checkpoint duplicates, and groups that skip over different steps.
  const hashed = steps.filter((l) => l.weightsDigest !== null);
  for (const g of flagDuplicateRevisions(
    hashed.map((l) => ({ revision: l.revision, sha256: l.weightsDigest as string })),
  )) {
    const idx = g.revisions.map((r) => stepOf.get(r) as number);
    const lo = Math.min(...idx);
    const hi = Math.max(...idx);
    const between = steps
      .slice(lo, hi + 1)
      .filter((l) => l.weightsDigest !== null && l.weightsDigest !== g.sha256);
    for (const r of g.revisions) {
      const others = g.revisions.filter((x) => x !== r);
      add(r, {
        kind: 'duplicate',
        detail: `${r} has the same weights as ${others.join(', ')} (sha256 ${short(g.sha256)}).`,
        sameAs: others,
      });
      if (between.length > 0 && !trusted(steps[stepOf.get(r) as number])) {
        add(r, {
          kind: 'misplaced',
          detail: `${r} is identical to ${others.join(', ')}, but ${between.length} step(s) between them differ (${between
            .slice(0, 3)
            .map((l) => l.revision)
            .join(', ')}${between.length > 3 ? ', ...' : ''}): training does not return to earlier weights.`,
          sameAs: others,
        });
      }
    }
  }

  // `main` is the final model.
  if (main?.weightsDigest) {
    for (const l of hashed) {
      if (l.step !== o.lastStep && l.weightsDigest === main.weightsDigest) {
        add(l.revision, {
          kind: 'misplaced',
          detail: `${l.revision} holds the weights main serves (the final model, step${o.lastStep}).`,
          sameAs: ['main'],
        });
      }
    }
    const last = steps.find((l) => l.step === o.lastStep);
    if (last?.weightsDigest && last.weightsDigest !== main.weightsDigest) {
      add(last.revision, {
        kind: 'misplaced',
        detail: `${last.revision} differs from main, which should be the final checkpoint.`,
        sameAs: [],
      });
    }
  }

  // Shards shared with another revision while the whole checkpoint differs.
  const byFile = new Map<string, string[]>();
  for (const l of listings) {
    if (l.weightFiles.length < 2) continue;
    for (const f of l.weightFiles)
      if (f.sha256) byFile.set(f.sha256, [...(byFile.get(f.sha256) ?? []), l.revision]);
  }
  for (const l of steps) {
    if (l.weightFiles.length < 2 || trusted(l)) continue;
    for (const f of l.weightFiles) {
      const whole = listings.filter((x) => x.weightsDigest !== null && x.weightsDigest === l.weightsDigest);
      const others = (byFile.get(f.sha256 ?? '') ?? []).filter(
        (r) => r !== l.revision && !whole.some((w) => w.revision === r),
      );
      if (others.length > 0) {
        add(l.revision, {
          kind: 'misplaced',
          detail: `${f.path} of ${l.revision} is identical to the same shard of ${others.join(', ')}, while the other shards differ.`,
          sameAs: others,
        });
      }
    }
  }

  // Sizes.
  const minBytes = 2 * o.totalParams;
  const formats = new Set(steps.map((l) => l.format).filter((f) => f !== null));
  for (const format of formats) {
    const same = steps.filter((l) => l.format === format);
    const usual = mode(same.map((l) => l.weightBytes));
    for (const l of same) {
      if (l.weightBytes < minBytes) {
        add(l.revision, {
          kind: 'size',
          detail: `${l.revision}'s weights are ${l.weightBytes} bytes, fewer than the model's ${o.totalParams} parameters need at 2 bytes each.`,
          sameAs: [],
        });
      } else if (usual !== null && l.weightBytes !== usual) {
        add(l.revision, {
          kind: 'size',
          detail: `${l.revision}'s weights are ${l.weightBytes} bytes; the model's other ${format} checkpoints hold ${usual}.`,
          sameAs: [],
        });
      }
    }
  }

  // From the statistics: embeddings identical while the files differ, tensors of another shape.
  const embedOf = (s: WeightStats): string | null => {
    const parts = s.tensors.filter((t) => t.name.includes('embed')).map((t) => `${t.name}:${t.sha256}`);
    return parts.length === 0 ? null : parts.sort().join(',');
  };
  const byEmbed = new Map<string, string[]>();
  for (const l of hashed) {
    const s = stats.get(l.weightsDigest as string);
    const e = s ? embedOf(s) : null;
    if (e) byEmbed.set(e, [...(byEmbed.get(e) ?? []), l.revision]);
    if (s && s.shapeMismatches.length > 0) {
      add(l.revision, {
        kind: 'misplaced',
        detail: `${l.revision} holds tensors of another shape: ${s.shapeMismatches[0]}.`,
        sameAs: [],
      });
    }
  }
  for (const l of hashed) {
    const s = stats.get(l.weightsDigest as string);
    const e = s ? embedOf(s) : null;
    if (!e) continue;
    const others = (byEmbed.get(e) ?? []).filter(
      (r) => r !== l.revision && steps.find((x) => x.revision === r)?.weightsDigest !== l.weightsDigest,
    );
    if (others.length > 0) {
      add(l.revision, {
        kind: 'misplaced',
        detail: `${l.revision}'s embeddings are byte-identical to ${others.join(', ')}'s, while the files differ.`,
        sameAs: others,
      });
    }
  }

  return [...out.values()];
}
