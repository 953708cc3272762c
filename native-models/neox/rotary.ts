// Rotary position embedding as GPT-NeoX applies it (Su et al. 2021, "RoFormer: Enhanced Transformer
// with Rotary Position Embedding"; transformers GPTNeoXRotaryEmbedding / apply_rotary_pos_emb):
// only the first r = int(d_head * rotary_pct) dims of each head rotate, inv_freq = 1/base^(2i/r),
// angles cat(freqs, freqs) and x*cos + rotate_half(x)*sin with rotate_half(x) = cat(-x2, x1).
// Because the angle table repeats, the two halves x1, x2 of the rotated part become
// (x1*c - x2*s, x2*c + x1*s) with c, s over the r/2 frequencies: the same float operations as
// transformers' formula (a + (-b) == a - b exactly), with half the table.

import type { GraphBuilder, Value } from '../graph/ir.ts';

/** inv_freq in float32 as torch computes it: 1 / base ** (arange(0, r, 2).float() / r). */
export function inverseFrequencies(rotaryDims: number, base: number): Float32Array {
  const out = new Float32Array(rotaryDims / 2);
  for (let i = 0; i < out.length; i++) {
    const t = Math.fround((2 * i) / rotaryDims);
    out[i] = Math.fround(1 / Math.fround(Math.pow(base, t)));
  }
  return out;
}

export interface RotaryTables {
  /** [T, r/2] cos of position * inv_freq. */
  cos: Value;
  /** [T, r/2] sin of position * inv_freq. */
  sin: Value;
}

/** cos/sin tables for positions 0..T-1 (right padding: position ids = arange(T)). */
export function rotaryTables(
  b: GraphBuilder,
  inputIds: Value,
  rotaryDims: number,
  base: number,
): RotaryTables {
  const tLen = b.gather(b.shapeOf(inputIds), b.constant([1], [], 'int64'), 0); // [] T (int64)
  const tF = b.cast(tLen, 'float32');
  const pos = b.range(b.scalar(0), tF, b.scalar(1), inputIds.shape[1]); // [T]
  const invFreq = b.constant(
    inverseFrequencies(rotaryDims, base),
    [1, rotaryDims / 2],
    'float32',
    'inv_freq',
  );
  const freqs = b.mul(b.unsqueeze(pos, [1]), invFreq); // [T, r/2]
  return { cos: b.cos(freqs), sin: b.sin(freqs) };
}

/** Rotate the first r dims of x [B, H, T, dh]; the rest pass through. */
export function applyRotary(b: GraphBuilder, x: Value, tables: RotaryTables, rotaryDims: number): Value {
  const dh = x.shape[3] as number;
  const half = rotaryDims / 2;
  const sizes = rotaryDims < dh ? [half, half, dh - rotaryDims] : [half, half];
  const [x1, x2, pass] = b.split(x, sizes, 3); // [B, H, T, r/2] each (+ [B, H, T, dh - r])
  const out1 = b.sub(b.mul(x1, tables.cos), b.mul(x2, tables.sin)); // x1*c + (-x2)*s
  const out2 = b.add(b.mul(x2, tables.cos), b.mul(x1, tables.sin)); // x2*c + x1*s
  return b.concat(pass ? [out1, out2, pass] : [out1, out2], 3); // [B, H, T, dh]
}
