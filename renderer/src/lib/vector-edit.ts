// The vector editor's edits as plain data (issue 11 item 4; docs/METHODS.md "Steering vectors":
// ActAdd, Turner et al. 2023; CAA, Rimsky et al. 2024; directional ablation, Arditi et al. 2024):
// the scale alpha, the layers the vector is applied at, the positions (all, from K on, or chosen
// token positions), whether the first token (the attention sink) is left alone, and add vs project
// out. Parsing the typed scale and the positions with one clear message each, so a NaN, an
// infinite or an out-of-range value is shown inline and never sent. Pure: tested in Node.

/** The slider's and the typed value's range, and the slider's step (arrow keys move by it). */
export const SCALE_MIN = -20;
export const SCALE_MAX = 20;
export const SCALE_STEP = 0.5;

export type PositionMode = 'all' | 'from' | 'tokens';
export type EditMode = 'add' | 'project';

export interface VectorEdit {
  scale: number;
  /** Layers the vector is applied at, ascending (never empty while a vector is open). */
  layers: number[];
  positions: PositionMode;
  /** With `from`: the first position edited. */
  fromK: number;
  /** With `tokens`: the positions edited, ascending. */
  tokens: number[];
  /** Leave position 0 (the sink) alone. */
  skipFirst: boolean;
  mode: EditMode;
}

/** The edits a freshly made or reopened vector starts with: alpha 1 at its own layer, all positions. */
export function initialEdit(layer: number | null): VectorEdit {
  return {
    scale: 1,
    layers: [layer ?? 0],
    positions: 'all',
    fromK: 1,
    tokens: [],
    skipFirst: true,
    mode: 'add',
  };
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** The typed scale: a finite number in [SCALE_MIN, SCALE_MAX], or the message to show beside it. */
export function parseScale(text: string): Parsed<number> {
  const t = text.trim();
  const range = `between ${SCALE_MIN} and ${SCALE_MAX}`;
  if (t === '') return { ok: false, message: `Type a scale ${range}.` };
  if (!NUMBER.test(t))
    return { ok: false, message: `"${t}" is not a number: the scale must be a finite number ${range}.` };
  const v = Number(t);
  if (!Number.isFinite(v)) return { ok: false, message: `"${t}" is not finite: the scale must be ${range}.` };
  if (v < SCALE_MIN || v > SCALE_MAX)
    return { ok: false, message: `${t} is out of range: the scale must be ${range}.` };
  return { ok: true, value: v };
}

/** A scale as the editor prints it (and the preview's label and data attribute carry it). */
export function scaleText(v: number): string {
  return String(Math.round(v * 1e6) / 1e6);
}

/** A slider's value snapped to its step and clamped to the range (float input from the range). */
export function snapScale(v: number): number {
  const snapped = Math.round(v / SCALE_STEP) * SCALE_STEP;
  return Math.min(SCALE_MAX, Math.max(SCALE_MIN, Math.round(snapped * 1e6) / 1e6));
}

/** "3, 5, 7" as token positions (whole numbers >= 0, each once, ascending); `max` is exclusive. */
export function parsePositions(text: string, max: number | null = null): Parsed<number[]> {
  const parts = text
    .split(/[,\s]+/)
    .map((x) => x.trim())
    .filter(Boolean);
  if (parts.length === 0) return { ok: false, message: 'Type the token positions to edit, e.g. 3, 5.' };
  const out = new Set<number>();
  for (const p of parts) {
    if (!/^\d+$/.test(p)) return { ok: false, message: `"${p}" is not a token position (0, 1, 2, ...).` };
    const v = Number(p);
    if (max !== null && v >= max)
      return { ok: false, message: `Position ${v} is past the prompt's last token (${max - 1}).` };
    out.add(v);
  }
  return { ok: true, value: [...out].sort((a, b) => a - b) };
}

/** The "from K" position: a whole number >= 0. */
export function parseFrom(text: string): Parsed<number> {
  const t = text.trim();
  if (!/^\d+$/.test(t)) return { ok: false, message: `"${t}" is not a position: type 0, 1, 2, ...` };
  return { ok: true, value: Number(t) };
}

/** Toggles a layer in the applied set; the last one cannot be removed (the set stays non-empty). */
export function toggleLayer(layers: readonly number[], layer: number): number[] {
  if (layers.includes(layer)) return layers.length > 1 ? layers.filter((l) => l !== layer) : [...layers];
  return [...layers, layer].sort((a, b) => a - b);
}

/** The positions as words ("all positions but the first", "positions 3, 5"). */
export function positionsText(e: VectorEdit): string {
  const skip = e.skipFirst ? ' but the first' : '';
  if (e.positions === 'from')
    return `positions from ${e.fromK} on${e.skipFirst && e.fromK === 0 ? skip : ''}`;
  if (e.positions === 'tokens') {
    const t = e.skipFirst ? e.tokens.filter((p) => p !== 0) : e.tokens;
    return t.length === 0 ? 'no position' : `position${t.length > 1 ? 's' : ''} ${t.join(', ')}`;
  }
  return `all positions${skip}`;
}

/** One sentence of what the edits do ("adds 2.5 x v at layers 1, 2, all positions but the first"). */
export function editText(e: VectorEdit): string {
  const what =
    e.mode === 'project'
      ? `projects v out (strength ${scaleText(e.scale)})`
      : `adds ${scaleText(e.scale)} x v`;
  const layers = `layer${e.layers.length > 1 ? 's' : ''} ${e.layers.join(', ')}`;
  return `${what} at ${layers}, ${positionsText(e)}`;
}
