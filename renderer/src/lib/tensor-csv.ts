// A stored tensor's slice as text a researcher can open elsewhere: CSV (RFC 4180 quoting, so a token
// label with a comma or a quote stays one field) with a header row of column labels and one row per
// tensor row, values printed exactly as float32 round-trips (shortest decimal). Used by TensorView's
// "Values" table and its CSV download; pure, tested in test/renderer/lib/tensor-csv.test.ts.

import type { TensorValue } from '../../../preload/api.ts';

/** One CSV field: quoted when it holds a comma, a quote or a line break. */
export function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The [R, C] (or [C]) slice as rows of numbers, row r of the tensor first. */
export function sliceRows(value: Pick<TensorValue, 'shape' | 'data'>): number[][] {
  const [R, C] = value.shape.length >= 2 ? value.shape.slice(-2) : [1, value.shape[0] ?? 1];
  return Array.from({ length: R }, (_, r) => Array.from({ length: C }, (_, c) => value.data[r * C + c]));
}

/** The slice as CSV: a corner cell naming the axes, column labels, then each row with its label. */
export function sliceCsv(
  value: Pick<TensorValue, 'shape' | 'data'>,
  names: { row: string; col: string },
  labels: { rows?: string[]; cols?: string[] } = {},
): string {
  const rows = sliceRows(value);
  const C = rows[0]?.length ?? 0;
  const head = [
    `${names.row} \\ ${names.col}`,
    ...Array.from({ length: C }, (_, c) => labels.cols?.[c] ?? String(c)),
  ];
  const lines = [head.map(csvField).join(',')];
  rows.forEach((row, r) =>
    lines.push([labels.rows?.[r] ?? String(r), ...row.map(String)].map(csvField).join(',')),
  );
  return lines.join('\n') + '\n';
}

/** Offers text as a file download (the browser's own save; nothing is written by the engine). */
export function downloadText(name: string, text: string, type = 'text/csv'): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 0);
}
