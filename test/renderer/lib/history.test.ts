// Undo and redo for the vector editor (renderer/src/lib/history.ts): steps, coalesced gestures
// sealed by the slider's change event, the redo future dropped by a new edit, the bound on the
// past, equal edits not recorded, and the keyboard shortcuts (Ctrl/Cmd+Z, Ctrl/Cmd+Shift+Z, Ctrl+Y).

import { describe, expect, it } from 'vitest';
import {
  canRedo,
  canUndo,
  createHistory,
  historyKey,
  record,
  redo,
  seal,
  undo,
  type History,
} from '../../../renderer/src/lib/history.ts';

const chain = <T>(h: History<T>, ...fs: ((x: History<T>) => History<T>)[]) => fs.reduce((a, f) => f(a), h);

describe('edit history', () => {
  it('undoes and redoes steps in order', () => {
    let h = createHistory({ scale: 1 });
    h = record(h, { scale: 2 });
    h = record(h, { scale: 3 });
    expect(canUndo(h)).toBe(true);
    expect(canRedo(h)).toBe(false);
    h = undo(h);
    expect(h.present).toEqual({ scale: 2 });
    h = undo(h);
    expect(h.present).toEqual({ scale: 1 });
    expect(canUndo(h)).toBe(false);
    expect(undo(h)).toBe(h);
    h = redo(h);
    expect(h.present).toEqual({ scale: 2 });
    h = redo(h);
    expect(h.present).toEqual({ scale: 3 });
    expect(redo(h)).toBe(h);
  });

  it('never mutates a history', () => {
    const h0 = createHistory([1]);
    const h1 = record(h0, [2]);
    expect(h0.present).toEqual([1]);
    expect(h0.past).toEqual([]);
    undo(h1);
    expect(h1.present).toEqual([2]);
  });

  it('does not record an edit equal to the present', () => {
    const h = record(createHistory({ a: [1, 2] }), { a: [1, 2] });
    expect(canUndo(h)).toBe(false);
  });

  it('coalesces one gesture into one step until sealed', () => {
    let h = createHistory(0);
    for (const v of [0.5, 1, 1.5, 2]) h = record(h, v, 'scale');
    expect(h.past).toEqual([0]);
    expect(h.present).toBe(2);
    h = seal(h);
    h = record(h, 2.5, 'scale');
    expect(h.past).toEqual([0, 2]);
    expect(undo(h).present).toBe(2);
    expect(undo(undo(h)).present).toBe(0);
  });

  it('a different group or an ungrouped edit is a new step', () => {
    const h = chain(
      createHistory('a'),
      (x) => record(x, 'b', 'scale'),
      (x) => record(x, 'c', 'layers'),
      (x) => record(x, 'd'),
      (x) => record(x, 'e'),
    );
    expect(h.past).toEqual(['a', 'b', 'c', 'd']);
  });

  it('a new edit after undo drops the redo future', () => {
    const h = chain(
      createHistory(1),
      (x) => record(x, 2),
      (x) => record(x, 3),
      undo,
      (x) => record(x, 9),
    );
    expect(h.present).toBe(9);
    expect(canRedo(h)).toBe(false);
    expect(h.past).toEqual([1, 2]);
  });

  it('an undo ends a gesture, so the next grouped edit is a new step', () => {
    const h = chain(
      createHistory(0),
      (x) => record(x, 1, 'scale'),
      (x) => record(x, 2, 'scale'),
      undo,
      (x) => record(x, 5, 'scale'),
    );
    expect(h.past).toEqual([0]);
    expect(h.present).toBe(5);
  });

  it('keeps at most `limit` past states, dropping the oldest', () => {
    let h = createHistory(0, 3);
    for (let i = 1; i <= 6; i++) h = record(h, i);
    expect(h.past).toEqual([3, 4, 5]);
    h = undo(undo(undo(h)));
    expect(h.present).toBe(3);
    expect(canUndo(h)).toBe(false);
  });

  it('maps the platform shortcuts to undo and redo', () => {
    const k = (
      key: string,
      m: Partial<{ ctrlKey: boolean; metaKey: boolean; shiftKey: boolean; altKey: boolean }>,
    ) => historyKey({ key, ctrlKey: false, metaKey: false, shiftKey: false, altKey: false, ...m });
    expect(k('z', { ctrlKey: true })).toBe('undo');
    expect(k('Z', { ctrlKey: true, shiftKey: true })).toBe('redo');
    expect(k('z', { metaKey: true })).toBe('undo');
    expect(k('z', { metaKey: true, shiftKey: true })).toBe('redo');
    expect(k('y', { ctrlKey: true })).toBe('redo');
    expect(k('z', {})).toBeNull();
    expect(k('z', { ctrlKey: true, altKey: true })).toBeNull();
    expect(k('x', { ctrlKey: true })).toBeNull();
  });
});
