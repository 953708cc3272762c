// Byte-level BPE token strings -> readable text. GPT-2's byte-level BPE (Radford et al. 2019,
// "Language Models are Unsupervised Multitask Learners"; openai/gpt-2 `encoder.py`
// `bytes_to_unicode`), used unchanged by GPT-NeoX-20B and Pythia, spells every byte as one
// printable Unicode character ("Ġ" = space, "Ċ" = newline). Inverting that map gives a token's
// bytes; a token can hold part of a multi-byte UTF-8 character, so bytes that do not form whole
// characters are shown as `\xNN` instead of being lost to U+FFFD.

/** The byte -> character table of GPT-2's `bytes_to_unicode` (256 entries). */
export function bytesToUnicode(): string[] {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b); // '!'..'~'
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b); // '¡'..'¬'
  for (let b = 0xae; b <= 0xff; b++) printable.push(b); // '®'..'ÿ'
  const table: string[] = new Array<string>(256);
  for (const b of printable) table[b] = String.fromCodePoint(b);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (table[b] === undefined) {
      table[b] = String.fromCodePoint(256 + n);
      n++;
    }
  }
  return table;
}

let charToByte: Map<string, number> | null = null;

function inverseTable(): Map<string, number> {
  if (charToByte === null) {
    charToByte = new Map(bytesToUnicode().map((ch, b) => [ch, b]));
  }
  return charToByte;
}

/** The bytes a byte-level token string stands for, or null if it has a character outside the table. */
export function tokenBytes(token: string): Uint8Array | null {
  const table = inverseTable();
  const out: number[] = [];
  for (const ch of token) {
    const b = table.get(ch);
    if (b === undefined) return null;
    out.push(b);
  }
  return Uint8Array.from(out);
}

// ignoreBOM keeps a leading U+FEFF: it is the token's content (e.g. the byte-order-mark tokens), not a marker.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Length of the UTF-8 sequence a lead byte announces (0 for a byte that cannot lead one). */
function sequenceLength(lead: number): number {
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

function hexByte(b: number): string {
  return `\\x${b.toString(16).toUpperCase().padStart(2, '0')}`;
}

/** UTF-8 text of `bytes`, with every byte that is not part of a whole, valid character written as `\xNN`. */
export function readableUtf8(bytes: Uint8Array): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    // Fall through to the byte-by-byte walk below.
  }
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const len = sequenceLength(bytes[i]);
    if (len > 0 && i + len <= bytes.length) {
      try {
        out += strictUtf8.decode(bytes.subarray(i, i + len));
        i += len;
        continue;
      } catch {
        // Invalid continuation bytes: escape the lead byte and resynchronise.
      }
    }
    out += hexByte(bytes[i]);
    i++;
  }
  return out;
}
