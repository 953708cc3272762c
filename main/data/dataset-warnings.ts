// What a dataset read skipped or cut is said, never silent: bad records (count and the first
// record numbers with the first reason) and records cut to MAX_RECORD_CHARS (a single 50 MB line
// is stored and tokenised only as far as any sequence could reach). Warnings go to listeners (the
// CLI prints them on stderr); the API keeps bad records with the dataset for its preview.

import type { BadRecord, DataRecord } from './readers.ts';

/**
 * The longest record kept, in UTF-16 units: 2048 tokens (Pythia's context) of at most 512
 * characters each (the longest token of the GPT-NeoX vocabulary).
 */
export const MAX_RECORD_CHARS = 2048 * 512;

/** Cuts records longer than MAX_RECORD_CHARS in place; returns how many were cut. */
export function cutLongRecords(records: DataRecord[]): number {
  let cut = 0;
  for (let i = 0; i < records.length; i++) {
    const r = records[i];
    if (r.text.length <= MAX_RECORD_CHARS) continue;
    const text = r.text.slice(0, MAX_RECORD_CHARS);
    records[i] =
      r.responseAt === undefined ? { text } : { text, responseAt: Math.min(r.responseAt, MAX_RECORD_CHARS) };
    cut++;
  }
  return cut;
}

/** "4 of 5 records were skipped (records 1, 2, 3, 5; record 1: not valid JSON ...)". */
export function describeBad(bad: readonly BadRecord[], total: number): string | null {
  if (bad.length === 0) return null;
  const first = bad.slice(0, 5).map((b) => b.index);
  const more = bad.length > first.length ? ', ...' : '';
  return (
    `${bad.length} of ${total} records were skipped (record${bad.length > 1 ? 's' : ''} ${first.join(', ')}${more}; ` +
    `record ${bad[0].index}: ${bad[0].reason})`
  );
}

type Listener = (message: string) => void;
const listeners = new Set<Listener>();

/** Listens to dataset warnings; returns the unsubscribe function. */
export function onDatasetWarning(l: Listener): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

/** Emits the warnings a read result carries. */
export function reportDataset(
  read: { records: readonly unknown[]; bad: readonly BadRecord[]; cut?: number },
  label: string,
): void {
  const messages: string[] = [];
  const bad = describeBad(read.bad, read.records.length + read.bad.length);
  if (bad) messages.push(`${label}: ${bad}.`);
  if (read.cut) {
    messages.push(
      `${label}: ${read.cut} record(s) longer than ${MAX_RECORD_CHARS} characters were cut to that length.`,
    );
  }
  for (const m of messages) for (const l of listeners) l(m);
}
