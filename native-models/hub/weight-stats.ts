// Weight-space statistics of one checkpoint from the byte ranges of the tensors they need, never
// the whole file: the safetensors header first (8 bytes, then the header JSON), then only the
// selected tensors (native-models/neox/weight-groups.ts), in reads of at most `chunkBytes`, each
// decoded and summed at once (Float64 sums of squares, so the order of the sums is the file's and
// a full read gives the same numbers bit for bit). torch.save checkpoints (`pytorch_model*.bin`,
// pythia-12b's branches) are read through the ZIP reader by ranges too, each selected tensor whole.
// Per tensor: its sum of squares and the sha256 of its values as float32 (two steps whose files
// differ but whose embeddings are identical are caught, as in EleutherAI/pythia #205, whatever
// the format); per checkpoint: the Frobenius norms of embed_in, embed_out, the final LayerNorm and
// of each layer's selected parameters. See docs/METHODS.md "Checkpoint integrity".

import { createHash, type Hash } from 'node:crypto';
import { AtlasError } from '../errors.ts';
import type { NeoxConfig } from '../neox/config.ts';
import { neoxWeightGroups, type StatsScope, type WeightGroup } from '../neox/weight-groups.ts';
import type { ByteSource } from '../weights/byte-source.ts';
import { decodeToFloat32, dtypeSize, isStorageDType } from '../weights/dtype.ts';
import { readSafetensorsHeader, type SafetensorsEntry } from '../weights/safetensors.ts';
import { readTorchBin } from '../weights/torch-bin.ts';
import type { StorageDType } from '../weights/types.ts';

export interface TensorStat {
  name: string;
  file: string;
  dtype: string;
  shape: number[];
  /** Sum of squares in Float64. */
  sumsq: number;
  /** sha256 of the tensor's values as little-endian float32 (the same whatever the file's format). */
  sha256: string;
}

export interface WeightStats {
  scope: StatsScope;
  tensors: TensorStat[];
  /** Frobenius norms; null where the checkpoint lacks the tensor. */
  embedNorm: number | null;
  unembedNorm: number | null;
  finalLnNorm: number | null;
  /** Per layer: the norm of the layer's selected parameters (null where none was found). */
  layerNorms: (number | null)[];
  /** Tensors whose shape is not the model's (the weights of another size, or a damaged file). */
  shapeMismatches: string[];
  /** Bytes read from the sources (headers included). */
  bytesRead: number;
  /** Read requests made (headers included). */
  reads: number;
}

/** A weight file of the checkpoint and where to read it. */
export interface WeightFileSource {
  file: string;
  src: ByteSource;
  /** `safetensors` (default; streamed in chunks) or `torch` (a torch.save zip: each selected tensor read whole). */
  format?: 'safetensors' | 'torch';
}

/** Default largest single read: 8 MiB. */
export const DEFAULT_CHUNK_BYTES = 8 * 1024 * 1024;
/** Selected tensors closer than this (and than chunkBytes / 8) are fetched in one read (the gap is read and ignored). */
const MAX_GAP = 64 * 1024;

/** A ByteSource that counts what it reads. */
function counting(src: ByteSource, tally: { bytes: number; reads: number }): ByteSource {
  return {
    size: () => src.size(),
    async read(offset, length) {
      tally.reads++;
      tally.bytes += length;
      return src.read(offset, length);
    },
  };
}

/** Streams one tensor's bytes: whole elements are decoded and summed, a split element waits. */
class TensorSum {
  sumsq = 0;
  private carry = new Uint8Array(0);
  private readonly hash: Hash = createHash('sha256');
  private readonly elem: number;
  constructor(readonly entry: SafetensorsEntry) {
    this.elem = dtypeSize(entry.dtype as StorageDType);
  }
  feed(bytes: Uint8Array): void {
    let buf = bytes;
    if (this.carry.length > 0) {
      buf = new Uint8Array(this.carry.length + bytes.length);
      buf.set(this.carry);
      buf.set(bytes, this.carry.length);
    }
    const whole = buf.length - (buf.length % this.elem);
    // decodeToFloat32 needs an aligned copy for multi-byte types; slice() gives one.
    const values = decodeToFloat32(buf.slice(0, whole), this.entry.dtype as StorageDType);
    this.hash.update(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
    let s = this.sumsq;
    for (let i = 0; i < values.length; i++) s += values[i] * values[i];
    this.sumsq = s;
    this.carry = buf.slice(whole);
  }
  digest(): string {
    if (this.carry.length > 0) throw new AtlasError(`tensor '${this.entry.name}' ended inside an element`);
    return this.hash.digest('hex');
  }
}

/** The reads covering the selected tensors: adjacent ones merged, each at most chunkBytes long. */
function planReads(entries: readonly SafetensorsEntry[], chunkBytes: number): [number, number][] {
  const spans: [number, number][] = [];
  const gap = Math.min(MAX_GAP, Math.floor(chunkBytes / 8));
  for (const e of [...entries].sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0])) {
    const last = spans[spans.length - 1];
    if (last && e.dataOffsets[0] - last[1] <= gap) last[1] = Math.max(last[1], e.dataOffsets[1]);
    else spans.push([e.dataOffsets[0], e.dataOffsets[1]]);
  }
  const reads: [number, number][] = [];
  for (const [a, b] of spans)
    for (let s = a; s < b; s += chunkBytes) reads.push([s, Math.min(b, s + chunkBytes)]);
  return reads;
}

/**
 * Statistics of a checkpoint's weights (`scope` picks the tensors) from its safetensors files, read
 * by ranges. Tensors the model does not have are ignored; a tensor of the wrong shape is listed in
 * `shapeMismatches` and still counted.
 */
export async function weightStats(
  files: readonly WeightFileSource[],
  cfg: NeoxConfig,
  scope: StatsScope,
  chunkBytes: number = DEFAULT_CHUNK_BYTES,
): Promise<WeightStats> {
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 8)
    throw new Error(`chunkBytes ${chunkBytes} too small`);
  const wanted = neoxWeightGroups(cfg, scope);
  const tally = { bytes: 0, reads: 0 };
  const tensors: TensorStat[] = [];
  const shapeMismatches: string[] = [];
  const groupSums = new Map<WeightGroup, number>();
  for (const { file, src: raw, format } of files) {
    const src = counting(raw, tally);
    if (format === 'torch') {
      const dict = await readTorchBin(src, { filter: (n) => wanted.has(n), what: file });
      for (const [name, t] of dict) {
        const expect = wanted.get(name)?.shape ?? [];
        if (t.shape.join('x') !== expect.join('x')) {
          shapeMismatches.push(`${name} is [${t.shape.join(', ')}], the model's is [${expect.join(', ')}]`);
        }
        let sumsq = 0;
        for (let i = 0; i < t.data.length; i++) sumsq += t.data[i] * t.data[i];
        const group = wanted.get(name)?.group as WeightGroup;
        groupSums.set(group, (groupSums.get(group) ?? 0) + sumsq);
        const sha256 = createHash('sha256')
          .update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength))
          .digest('hex');
        tensors.push({ name, file, dtype: 'torch', shape: t.shape, sumsq, sha256 });
      }
      continue;
    }
    const header = await readSafetensorsHeader(src, file);
    const selected = [...header.tensors.values()].filter((e) => wanted.has(e.name));
    const sums = new Map<string, TensorSum>();
    for (const e of selected) {
      if (!isStorageDType(e.dtype)) {
        throw new AtlasError(
          `tensor '${e.name}' in ${file} has dtype ${e.dtype}, which Pythia Atlas cannot read`,
        );
      }
      sums.set(e.name, new TensorSum(e));
      const expect = wanted.get(e.name)?.shape ?? [];
      if (e.shape.join('x') !== expect.join('x')) {
        shapeMismatches.push(`${e.name} is [${e.shape.join(', ')}], the model's is [${expect.join(', ')}]`);
      }
    }
    for (const [a, b] of planReads(selected, chunkBytes)) {
      const bytes = await src.read(header.dataStart + a, b - a);
      for (const t of sums.values()) {
        const [ta, tb] = t.entry.dataOffsets;
        const lo = Math.max(a, ta);
        const hi = Math.min(b, tb);
        if (lo < hi) t.feed(bytes.subarray(lo - a, hi - a));
      }
    }
    for (const t of sums.values()) {
      const group = wanted.get(t.entry.name)?.group as WeightGroup;
      groupSums.set(group, (groupSums.get(group) ?? 0) + t.sumsq);
      tensors.push({
        name: t.entry.name,
        file,
        dtype: t.entry.dtype,
        shape: t.entry.shape,
        sumsq: t.sumsq,
        sha256: t.digest(),
      });
    }
  }
  const norm = (g: WeightGroup): number | null => {
    const s = groupSums.get(g);
    return s === undefined ? null : Math.sqrt(s);
  };
  return {
    scope,
    tensors,
    embedNorm: norm('embed_in'),
    unembedNorm: norm('embed_out'),
    finalLnNorm: norm('final_ln'),
    layerNorms: Array.from({ length: cfg.numLayers }, (_, l) => norm(l)),
    shapeMismatches,
    bytesRead: tally.bytes,
    reads: tally.reads,
  };
}
