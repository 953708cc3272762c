// Stored tensors as pictures: views clamp to the shape, a [R, C] slice becomes a heatmap grid
// (first row on top when asked, with the tensor's row numbers kept), tensors belong to the
// analysis named by their prefix, and token positions are labelled with their ids.

import { describe, expect, it } from 'vitest';
import {
  clampView,
  decodeTokenTexts,
  sliceGrid,
  tensorAnalyses,
  tensorsOf,
  tokenLabels,
} from '../../../renderer/src/lib/tensors.ts';

describe('tensor views', () => {
  it('fix the leading axes and draw the last one or two, within the shape', () => {
    expect(clampView([6, 8, 16, 16], 2, [])).toEqual({ drawn: 2, index: [0, 0] });
    expect(clampView([6, 8, 16, 16], 1, [5, 9, 3])).toEqual({ drawn: 1, index: [5, 7, 3] });
    expect(clampView([6, 512], 2, [4])).toEqual({ drawn: 2, index: [] });
    expect(clampView([16], 2, [])).toEqual({ drawn: 1, index: [] });
    expect(clampView([3, 4], 1, [-2])).toEqual({ drawn: 1, index: [0] });
  });

  it('turn a 2-D slice into a grid, first row on top when asked', () => {
    const value = { shape: [2, 3], data: Float32Array.of(1, 2, 3, 4, NaN, 6) };
    const up = sliceGrid(value);
    expect(up.rows).toEqual([0, 1]);
    expect(up.cols).toEqual([0, 1, 2]);
    expect([...up.values]).toEqual([1, 2, 3, 4, NaN, 6]);
    expect([up.min, up.max]).toEqual([1, 6]);
    const down = sliceGrid(value, true);
    expect(down.rows).toEqual([1, 0]);
    expect([...down.values]).toEqual([4, NaN, 6, 1, 2, 3]);
    expect(sliceGrid({ shape: [3], data: Float32Array.of(7, 8, 9) }).rows).toEqual([0]);
  });

  it('share tensors out by analysis and label tokens', () => {
    const t = (name: string) => ({ name, dtype: 'float32', shape: [1] });
    const all = [t('attention/pattern'), t('profile/feature_mean/resid_post'), t('attentionx/y')];
    expect(tensorsOf('attention', all).map((x) => x.name)).toEqual(['attention/pattern']);
    expect(tensorAnalyses(all)).toEqual(['attention', 'profile', 'attentionx']);
    expect(tokenLabels([510, 7])).toEqual(['0 (#510)', '1 (#7)']);
  });

  it('decode stored token texts (multi-byte, empty, newline) and label positions with them', () => {
    const texts = [' the', '', 'é\n', '<script>', '日本'];
    const enc = new TextEncoder();
    const parts = texts.map((t) => enc.encode(t));
    const offsets = [0];
    for (const p of parts) offsets.push(offsets[offsets.length - 1] + p.length);
    const bytes = parts.flatMap((p) => Array.from(p));
    expect(decodeTokenTexts(bytes, offsets)).toEqual(texts);
    expect(tokenLabels([1, 2, 3, 4, 5], texts)).toEqual([
      '0 " the"',
      '1 ""',
      '2 "é\\n"',
      '3 "<script>"',
      '4 "日本"',
    ]);
    // Texts of another length than the ids are not trusted: ids instead.
    expect(tokenLabels([1, 2], texts)).toEqual(['0 (#1)', '1 (#2)']);
  });
});
