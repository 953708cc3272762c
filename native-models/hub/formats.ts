// Which files make up a checkpoint revision. Hub revisions of the Pythia repositories carry one of
// four weight layouts (transformers' `from_pretrained` conventions, modeling_utils.py): a single
// `model.safetensors`; sharded `model-0000i-of-0000n.safetensors` with `model.safetensors.index.json`;
// a single `pytorch_model.bin`; or sharded `pytorch_model-0000i-of-0000n.bin` with
// `pytorch_model.bin.index.json` (the 12b). We take the first layout present in that order, plus
// `config.json` (required) and `tokenizer.json` (when present). The same plan is made from a hub
// file listing and from a cached snapshot directory, so online and offline agree.

import { AtlasError } from '../errors.ts';

export type WeightFormat = 'safetensors' | 'safetensors-sharded' | 'pytorch' | 'pytorch-sharded';

export interface CheckpointPlan {
  format: WeightFormat;
  /** Weight files in shard order (one file for unsharded layouts). */
  weightFiles: string[];
  /** The shard index (`*.index.json`) for sharded layouts, else null. */
  indexFile: string | null;
  /** Every file to fetch or expect: config.json, tokenizer.json if present, index, weights. */
  files: string[];
}

interface Layout {
  format: WeightFormat;
  single: string | null;
  index: string | null;
  shard: RegExp | null;
}

const LAYOUTS: readonly Layout[] = [
  { format: 'safetensors', single: 'model.safetensors', index: null, shard: null },
  {
    format: 'safetensors-sharded',
    single: null,
    index: 'model.safetensors.index.json',
    shard: /^model-(\d+)-of-(\d+)\.safetensors$/,
  },
  { format: 'pytorch', single: 'pytorch_model.bin', index: null, shard: null },
  {
    format: 'pytorch-sharded',
    single: null,
    index: 'pytorch_model.bin.index.json',
    shard: /^pytorch_model-(\d+)-of-(\d+)\.bin$/,
  },
];

/** Shards named `<prefix>-i-of-n` forming a complete set 1..n, in order; null if incomplete. */
function completeShards(paths: ReadonlySet<string>, shard: RegExp): string[] | null {
  const byIndex = new Map<number, string>();
  let total = -1;
  for (const p of paths) {
    const m = shard.exec(p);
    if (!m) continue;
    const n = Number(m[2]);
    if (total !== -1 && n !== total) return null;
    total = n;
    byIndex.set(Number(m[1]), p);
  }
  if (total < 1 || byIndex.size !== total) return null;
  const out: string[] = [];
  for (let i = 1; i <= total; i++) {
    const p = byIndex.get(i);
    if (p === undefined) return null;
    out.push(p);
  }
  return out;
}

/**
 * The checkpoint plan for a set of root-level file paths, or null when no complete weight layout or
 * no config.json is present.
 */
export function planCheckpoint(paths: Iterable<string>): CheckpointPlan | null {
  const set = new Set(paths);
  if (!set.has('config.json')) return null;
  const extras = ['config.json', ...(set.has('tokenizer.json') ? ['tokenizer.json'] : [])];
  for (const l of LAYOUTS) {
    if (l.single !== null && set.has(l.single)) {
      return { format: l.format, weightFiles: [l.single], indexFile: null, files: [...extras, l.single] };
    }
    if (l.index !== null && l.shard !== null && set.has(l.index)) {
      const shards = completeShards(set, l.shard);
      if (shards) {
        return {
          format: l.format,
          weightFiles: shards,
          indexFile: l.index,
          files: [...extras, l.index, ...shards],
        };
      }
    }
  }
  return null;
}

/** Why planCheckpoint found nothing, as one sentence for an AtlasError. */
export function describeMissingWeights(paths: Iterable<string>, what: string): string {
  const set = new Set(paths);
  if (!set.has('config.json')) return `${what} has no config.json.`;
  return `${what} has no complete set of weights (model.safetensors, sharded model-*.safetensors, pytorch_model.bin or sharded pytorch_model-*.bin).`;
}

/**
 * Checks a shard index (`{"weight_map": {tensor: file}}`) against the planned shards: every file it
 * names must be one of them. Throws an AtlasError otherwise.
 */
export function checkShardIndex(indexText: string, plan: CheckpointPlan, what: string): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(indexText);
  } catch {
    throw new AtlasError(`The shard index ${plan.indexFile} of ${what} is not valid JSON.`);
  }
  const map =
    typeof parsed === 'object' && parsed !== null
      ? (parsed as { weight_map?: unknown }).weight_map
      : undefined;
  if (typeof map !== 'object' || map === null) {
    throw new AtlasError(`The shard index ${plan.indexFile} of ${what} has no weight_map.`);
  }
  const known = new Set(plan.weightFiles);
  for (const file of Object.values(map as Record<string, unknown>)) {
    if (typeof file !== 'string' || !known.has(file)) {
      throw new AtlasError(
        `The shard index ${plan.indexFile} of ${what} names ${String(file)}, which is not in the revision.`,
      );
    }
  }
}
