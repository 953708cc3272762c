// The vector editor's edits (renderer/src/lib/vector-edit.ts): the typed scale refused with one
// message when it is empty, not a number, NaN, infinite or out of range; the slider's value snapped
// to its step; token positions and "from K" parsed and range-checked; the layer set never empty;
// the sentence that says what the edits do.

import { describe, expect, it } from 'vitest';
import {
  editText,
  initialEdit,
  parseFrom,
  parsePositions,
  parseScale,
  scaleText,
  SCALE_MAX,
  SCALE_MIN,
  snapScale,
  toggleLayer,
} from '../../../renderer/src/lib/vector-edit.ts';

describe('typed scale', () => {
  it('accepts finite numbers in range, as typed', () => {
    for (const [t, v] of [
      ['2.5', 2.5],
      [' -3 ', -3],
      ['+1e1', 10],
      ['.5', 0.5],
      [String(SCALE_MAX), SCALE_MAX],
      [String(SCALE_MIN), SCALE_MIN],
      ['0', 0],
    ] as const)
      expect(parseScale(t)).toEqual({ ok: true, value: v });
  });

  it('refuses NaN, infinities, words, empty and out-of-range values with a message', () => {
    const msg = (t: string) => {
      const r = parseScale(t);
      expect(r.ok).toBe(false);
      return r.ok ? '' : r.message;
    };
    expect(msg('NaN')).toBe(
      `"NaN" is not a number: the scale must be a finite number between ${SCALE_MIN} and ${SCALE_MAX}.`,
    );
    expect(msg('Infinity')).toMatch(/^"Infinity" is not a number/);
    expect(msg('1e400')).toBe(
      `"1e400" is not finite: the scale must be between ${SCALE_MIN} and ${SCALE_MAX}.`,
    );
    expect(msg('abc')).toMatch(/^"abc" is not a number/);
    expect(msg('1,5')).toMatch(/^"1,5" is not a number/);
    expect(msg('0x10')).toMatch(/is not a number/);
    expect(msg('')).toBe(`Type a scale between ${SCALE_MIN} and ${SCALE_MAX}.`);
    expect(msg(String(SCALE_MAX + 0.5))).toBe(
      `${SCALE_MAX + 0.5} is out of range: the scale must be between ${SCALE_MIN} and ${SCALE_MAX}.`,
    );
    expect(msg('-1000')).toMatch(/out of range/);
  });

  it('prints scales without float noise', () => {
    expect(scaleText(0.1 + 0.2)).toBe('0.3');
    expect(scaleText(-2.5)).toBe('-2.5');
    expect(scaleText(3)).toBe('3');
  });

  it('snaps slider values to the step and clamps to the range', () => {
    expect(snapScale(1.26)).toBe(1.5);
    expect(snapScale(1.24)).toBe(1);
    expect(snapScale(-0.74)).toBe(-0.5);
    expect(snapScale(99)).toBe(SCALE_MAX);
    expect(snapScale(-99)).toBe(SCALE_MIN);
  });
});

describe('positions and layers', () => {
  it('parses token positions: each once, ascending, bounded by the prompt', () => {
    expect(parsePositions('5, 3 3,1')).toEqual({ ok: true, value: [1, 3, 5] });
    expect(parsePositions('2', 3)).toEqual({ ok: true, value: [2] });
    expect(parsePositions('3', 3)).toEqual({
      ok: false,
      message: "Position 3 is past the prompt's last token (2).",
    });
    expect(parsePositions('1, -2')).toEqual({
      ok: false,
      message: '"-2" is not a token position (0, 1, 2, ...).',
    });
    expect(parsePositions('1.5').ok).toBe(false);
    expect(parsePositions(' , ').ok).toBe(false);
  });

  it('parses "from K"', () => {
    expect(parseFrom(' 4 ')).toEqual({ ok: true, value: 4 });
    expect(parseFrom('x').ok).toBe(false);
    expect(parseFrom('-1').ok).toBe(false);
  });

  it('toggles layers, keeping the set sorted and never empty', () => {
    expect(toggleLayer([1], 3)).toEqual([1, 3]);
    expect(toggleLayer([3, 5], 0)).toEqual([0, 3, 5]);
    expect(toggleLayer([1, 3], 1)).toEqual([3]);
    expect(toggleLayer([3], 3)).toEqual([3]);
  });

  it('says what the edits do', () => {
    const e = initialEdit(2);
    expect(e).toMatchObject({ scale: 1, layers: [2], positions: 'all', skipFirst: true, mode: 'add' });
    expect(editText(e)).toBe('adds 1 x v at layer 2, all positions but the first');
    expect(editText({ ...e, scale: 2.5, layers: [1, 2], skipFirst: false })).toBe(
      'adds 2.5 x v at layers 1, 2, all positions',
    );
    expect(editText({ ...e, mode: 'project', positions: 'from', fromK: 3 })).toBe(
      'projects v out (strength 1) at layer 2, positions from 3 on',
    );
    expect(editText({ ...e, positions: 'tokens', tokens: [0, 4, 6] })).toBe(
      'adds 1 x v at layer 2, positions 4, 6',
    );
    expect(initialEdit(null).layers).toEqual([0]);
  });
});
