// Tokenisation with the real Pythia tokenizer: Alpaca responseStart splits the ids exactly into the
// prompt's and the response's tokens; how often that differs from train.py's encode(concatenation)
// boundary; BOS, EOS, truncation, n, and empty records dropped and reported.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadTokenizer } from '../../../native-models/tokenizer/tokenizer.ts';
import type { TextTokenizer } from '../../../native-models/tokenizer/types.ts';
import { readDataset, type DataRecord } from '../../../main/data/readers.ts';
import { tokenizeRecords } from '../../../main/data/tokenize.ts';

const DATA = fileURLToPath(new URL('../../../../shared/data/', import.meta.url));
let tok: TextTokenizer;
let alpaca: DataRecord[];

beforeAll(async () => {
  tok = await loadTokenizer(join(DATA, '20B_tokenizer.json'));
  alpaca = (await readDataset(join(DATA, 'alpaca_5000.json'))).records.slice(0, 300);
});

describe('tokenizeRecords', () => {
  it('puts responseStart at the first response token of Alpaca records', () => {
    const { sequences, dropped } = tokenizeRecords(alpaca, tok, { seqLen: 4096 });
    expect(dropped).toEqual([]);
    let boundaryDiffers = 0;
    sequences.forEach((s, i) => {
      const r = alpaca[i];
      const prompt = r.text.slice(0, r.responseAt);
      expect(s.record).toBe(i);
      expect(s.ids.slice(0, s.responseStart)).toEqual(tok.encode(prompt));
      expect(tok.decode(s.ids.slice(s.responseStart))).toBe(r.text.slice(r.responseAt));
      expect(prompt.endsWith('### Response:')).toBe(true);
      // train.py: encode(source + target), boundary = len(encode(source))
      const joint = tok.encode(r.text);
      if (joint.length !== s.ids.length || joint.some((id, k) => id !== s.ids[k])) boundaryDiffers++;
    });
    console.log(
      `alpaca: ${boundaryDiffers}/${sequences.length} records tokenise differently when encoded jointly`,
    );
    expect(boundaryDiffers).toBeLessThan(sequences.length / 10);
  });

  it('plain records start their response at 0 and match encode(text)', () => {
    const recs = [{ text: 'Hello world' }, { text: 'The cat sat on the mat.' }];
    const { sequences } = tokenizeRecords(recs, tok, { seqLen: 64 });
    expect(sequences.map((s) => s.ids)).toEqual([
      [12092, 1533],
      [510, 5798, 2206, 327, 253, 1111, 15],
    ]); // FACTS.md, identical to Python
    expect(sequences.map((s) => s.responseStart)).toEqual([0, 0]);
  });

  it('prepends <|endoftext|> as BOS only when asked, shifting responseStart', () => {
    const plain = tokenizeRecords(alpaca.slice(0, 5), tok, { seqLen: 4096 }).sequences;
    const bos = tokenizeRecords(alpaca.slice(0, 5), tok, { seqLen: 4096, prependBos: true }).sequences;
    bos.forEach((s, i) => {
      expect(s.ids[0]).toBe(tok.eosId);
      expect(tok.eosId).toBe(0);
      expect(s.ids.slice(1)).toEqual(plain[i].ids);
      expect(s.responseStart).toBe(plain[i].responseStart + 1);
    });
    expect(plain.every((s) => s.ids[0] !== 0)).toBe(true);
    const eos = tokenizeRecords(alpaca.slice(0, 5), tok, { seqLen: 4096, appendEos: true }).sequences;
    eos.forEach((s, i) => expect(s.ids).toEqual([...plain[i].ids, 0]));
  });

  it('truncates to seqLen, keeps the first n usable records and reports empty ones', () => {
    const recs: DataRecord[] = [
      { text: '' },
      { text: 'one two three four five six' },
      { text: 'hi' },
      { text: 'more' },
    ];
    const res = tokenizeRecords(recs, tok, { seqLen: 3, n: 2, prependBos: true });
    expect(res.dropped).toEqual([{ record: 0, reason: 'no tokens (empty text)' }]);
    expect(res.sequences.map((s) => s.record)).toEqual([1, 2]);
    expect(res.sequences[0].ids).toEqual([0, ...tok.encode('one two three four five six').slice(0, 2)]);
    expect(res.sequences[0].truncated).toBe(true);
    expect(res.sequences[1].truncated).toBe(false);
    expect(res.truncatedCount).toBe(1);
    // A response cut off entirely: responseStart clamps to the length.
    const cut = tokenizeRecords(alpaca.slice(0, 1), tok, { seqLen: 10 }).sequences[0];
    expect(cut.ids).toHaveLength(10);
    expect(cut.responseStart).toBe(10);
  });
});
