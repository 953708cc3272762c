// Stored tensors as pictures, as pure functions: which axes a view fixes and which it draws, a 2-D
// slice as a heatmap Grid (optionally first row on top, as attention maps read: query down, key
// across), the tensors an analysis stored (by the `<analysis>/` prefix of their names), and token
// labels from a run's token ids.

import type { Grid, TensorInfo, TensorValue } from '../../../preload/api.ts';

/** A view of a tensor: the leading axes fixed at indices, the last one (bars) or two (heatmap) drawn. */
export interface TensorView {
  /** Axes drawn: 2 (heatmap) or 1 (bars); never more than the tensor has. */
  drawn: 1 | 2;
  /** Indices of the leading axes (shape.length - drawn of them), each within its axis. */
  index: number[];
}

/** The view clamped to a shape (a picker left past the end of a smaller tensor snaps back). */
export function clampView(shape: readonly number[], drawn: 1 | 2, index: readonly number[]): TensorView {
  const d = Math.max(1, Math.min(drawn, shape.length)) as 1 | 2;
  const lead = Math.max(0, shape.length - d);
  return {
    drawn: d,
    index: Array.from({ length: lead }, (_, i) =>
      Math.max(0, Math.min(shape[i] - 1, Math.trunc(index[i] ?? 0) || 0)),
    ),
  };
}

/**
 * A [R, C] slice as a Grid. Heatmaps draw grid row 0 at the bottom; with `topDown` the rows are
 * reversed so the tensor's row 0 is on top (grid.rows keeps the tensor's row numbers).
 */
export function sliceGrid(value: Pick<TensorValue, 'shape' | 'data'>, topDown = false): Grid {
  const [R, C] = value.shape.length >= 2 ? value.shape.slice(-2) : [1, value.shape[0] ?? 1];
  const values = new Float32Array(R * C);
  const rows: number[] = [];
  let min = Infinity;
  let max = -Infinity;
  for (let r = 0; r < R; r++) {
    const from = topDown ? R - 1 - r : r;
    rows.push(from);
    for (let c = 0; c < C; c++) {
      const v = value.data[from * C + c];
      values[r * C + c] = v;
      if (Number.isFinite(v)) {
        if (v < min) min = v;
        if (v > max) max = v;
      }
    }
  }
  return { rows, cols: Array.from({ length: C }, (_, c) => c), values, min, max };
}

/** The tensors an analysis stored, by name prefix (`attention/pattern` is attention's). */
export function tensorsOf(analysis: string, tensors: readonly TensorInfo[]): TensorInfo[] {
  return tensors.filter((t) => t.name.startsWith(`${analysis}/`));
}

/** The analyses that stored tensors. */
export function tensorAnalyses(tensors: readonly TensorInfo[]): string[] {
  return [...new Set(tensors.map((t) => t.name.split('/')[0]))];
}

/**
 * Axis labels for token positions: `position "text"` where the run stored the tokens' text
 * (main/data/token-text.ts), else `position (#id)`. The text is quoted (JSON) so spaces and
 * newlines show; echarts draws labels as text, never as HTML.
 */
export function tokenLabels(ids: ArrayLike<number>, texts?: readonly string[] | null): string[] {
  return Array.from(ids, (id, i) =>
    texts && texts.length === ids.length ? `${i} ${JSON.stringify(texts[i])}` : `${i} (#${id})`,
  );
}

/** The token texts of `<prefix>_text` [bytes] and `<prefix>_text_offsets` [n + 1] (main/data/token-text.ts). */
export function decodeTokenTexts(bytes: ArrayLike<number>, offsets: ArrayLike<number>): string[] {
  const all = Uint8Array.from(bytes);
  const dec = new TextDecoder();
  return Array.from({ length: Math.max(0, offsets.length - 1) }, (_, i) =>
    dec.decode(all.subarray(offsets[i], offsets[i + 1])),
  );
}
