// Undo and redo for the vector editor's edits (issue 11 item 4, "Undo for edits"), as a pure value:
// a `History<T>` holds the past states, the present and the undone future; every function returns a
// new History and never mutates one, so a component keeps it in one $state and the edits are
// testable without a browser. An edit that equals the present is not recorded. Edits of one gesture
// (a slider dragged: many `input` events) coalesce into one step when recorded with the same
// `group`, until `seal` ends the gesture (the slider's `change` event, a blur); an arrow key press
// is one input and one change, so one step. A new edit after undo drops the redo future, as every
// editor does. The past is bounded (`limit`, oldest dropped first).

export interface History<T> {
  readonly past: readonly T[];
  readonly present: T;
  readonly future: readonly T[];
  /** The gesture the present belongs to (null: sealed, the next edit is a new step). */
  readonly group: string | null;
  readonly limit: number;
}

export function createHistory<T>(present: T, limit = 200): History<T> {
  return { past: [], present, future: [], group: null, limit: Math.max(1, limit) };
}

/** Records an edit: a new step, or (same open group) a replacement of the present. */
export function record<T>(
  h: History<T>,
  next: T,
  group: string | null = null,
  equal: (a: T, b: T) => boolean = sameJson,
): History<T> {
  if (equal(h.present, next)) return group === null ? { ...h, group: null } : h;
  if (group !== null && h.group === group && h.past.length > 0) return { ...h, present: next, future: [] };
  const past = [...h.past, h.present];
  return { ...h, past: past.slice(Math.max(0, past.length - h.limit)), present: next, future: [], group };
}

/** Ends the open gesture: the next edit is a step of its own. */
export function seal<T>(h: History<T>): History<T> {
  return h.group === null ? h : { ...h, group: null };
}

export const canUndo = <T>(h: History<T>): boolean => h.past.length > 0;
export const canRedo = <T>(h: History<T>): boolean => h.future.length > 0;

export function undo<T>(h: History<T>): History<T> {
  if (!canUndo(h)) return h;
  return {
    ...h,
    past: h.past.slice(0, -1),
    present: h.past[h.past.length - 1],
    future: [h.present, ...h.future],
    group: null,
  };
}

export function redo<T>(h: History<T>): History<T> {
  if (!canRedo(h)) return h;
  return {
    ...h,
    past: [...h.past, h.present],
    present: h.future[0],
    future: h.future.slice(1),
    group: null,
  };
}

/** Structural equality of plain data (the edits are plain objects of numbers, strings, arrays). */
export function sameJson<T>(a: T, b: T): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

/** Whether a key event asks to undo or redo (Ctrl/Cmd+Z, Ctrl/Cmd+Shift+Z, Ctrl+Y); else null. */
export function historyKey(e: {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  shiftKey: boolean;
  altKey: boolean;
}): 'undo' | 'redo' | null {
  if (!(e.ctrlKey || e.metaKey) || e.altKey) return null;
  const k = e.key.toLowerCase();
  if (k === 'z') return e.shiftKey ? 'redo' : 'undo';
  if (k === 'y' && !e.shiftKey) return 'redo';
  return null;
}
