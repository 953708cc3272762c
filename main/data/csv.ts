// A CSV parser for RFC 4180 ("Common Format and MIME Type for Comma-Separated Values Files"):
// fields separated by commas, records by CRLF (a bare LF is accepted too), a field may be enclosed
// in double quotes, and then may hold commas, line breaks and doubled quotes ("" = one quote).
// Deviations are reported per record instead of aborting the file: a quote inside an unquoted
// field, or text after a closing quote, marks that record bad; an unterminated quote marks the
// record it opens bad (it runs to the end of the file). Empty lines are skipped.

export interface CsvRow {
  fields: string[];
  /** 1-based line of the file on which the record starts. */
  line: number;
  /** Why the record is malformed, if it is. */
  error?: string;
}

/** Splits CSV text into records. */
export function parseCsv(text: string): CsvRow[] {
  const rows: CsvRow[] = [];
  let i = 0;
  let line = 1;
  const n = text.length;
  while (i < n) {
    const startLine = line;
    // An empty line is not a record.
    if (text[i] === '\n' || (text[i] === '\r' && text[i + 1] === '\n')) {
      i += text[i] === '\r' ? 2 : 1;
      line += 1;
      continue;
    }
    const fields: string[] = [];
    let error: string | undefined;
    for (;;) {
      let field = '';
      if (text[i] === '"') {
        i += 1;
        let closed = false;
        while (i < n) {
          const c = text[i];
          if (c === '"') {
            if (text[i + 1] === '"') {
              field += '"';
              i += 2;
              continue;
            }
            i += 1;
            closed = true;
            break;
          }
          if (c === '\n') line += 1;
          field += c;
          i += 1;
        }
        if (!closed) error ??= 'a quoted field is never closed';
        // After the closing quote only a separator or the end of the record may follow.
        if (i < n && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r') {
          error ??= 'text follows a closing quote';
          while (i < n && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r') field += text[i++];
        }
      } else {
        while (i < n && text[i] !== ',' && text[i] !== '\n' && !(text[i] === '\r' && text[i + 1] === '\n')) {
          if (text[i] === '"') error ??= 'a quote appears inside an unquoted field';
          field += text[i++];
        }
      }
      fields.push(field);
      if (i < n && text[i] === ',') {
        i += 1;
        continue;
      }
      break;
    }
    // End of record: CRLF, LF or end of text.
    if (text[i] === '\r' && text[i + 1] === '\n') i += 2;
    else if (text[i] === '\n' || text[i] === '\r') i += 1;
    if (i <= n) line += 1;
    rows.push(error === undefined ? { fields, line: startLine } : { fields, line: startLine, error });
  }
  return rows;
}
