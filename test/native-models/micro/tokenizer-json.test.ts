// The micro tokenizer.json read by the normal loading paths: @huggingface/tokenizers directly and the
// app's tokenizer module must give the same ids as our own encoder, and decode must invert encode.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Tokenizer } from '@huggingface/tokenizers';
import { BpeEncoder, trainBpe } from '../../../native-models/micro/bpe.ts';
import { generateCorpus, joinDocuments } from '../../../native-models/micro/corpus.ts';
import { fromTokenizerJson, toTokenizerJson } from '../../../native-models/micro/tokenizer-json.ts';
import { parseTokenizer } from '../../../native-models/tokenizer/tokenizer.ts';
import { AtlasError } from '../../../main/errors.ts';

const corpus = generateCorpus({ seed: 21, nDocs: 800 });
const model = trainBpe(corpus.train, { vocabSize: 1024 });
const json = toTokenizerJson(model);
const ours = new BpeEncoder(model);
const hf = new Tokenizer(JSON.parse(json), { clean_up_tokenization_spaces: false });
const app = parseTokenizer(new TextEncoder().encode(json), 'micro tokenizer.json');

const hfIds = (s: string): number[] => hf.encode(s, { add_special_tokens: false }).ids;

const EDGE_CASES = [
  'Hello  world!\n\n  tabs\there',
  "don't we'll they're I'm",
  'x1732 1732 01 7',
  'café naïve 日本語 🎉 ﬁ',
  '<|endoftext|>The end.<|padding|><|endoftext|>',
  '   leading and trailing spaces   ',
];

describe('micro tokenizer.json', () => {
  it('@huggingface/tokenizers gives our ids on held-out text and edge cases', () => {
    const heldOut = joinDocuments(corpus.heldOut);
    const ids = ours.encode(heldOut);
    expect(ids.length).toBeGreaterThan(1000);
    expect(hfIds(heldOut)).toEqual(ids);
    for (const s of EDGE_CASES) expect(hfIds(s)).toEqual(ours.encode(s));
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (s) => {
        expect(hfIds(s)).toEqual(ours.encode(s));
      }),
      { numRuns: 200 },
    );
  });

  it('the app loader reads it as a Pythia-style tokenizer and decode inverts encode', () => {
    expect(app.eosId).toBe(0);
    expect(app.padId).toBe(1);
    expect(app.vocabSize).toBe(1024);
    for (const d of [...corpus.heldOut.slice(0, 20), ...EDGE_CASES]) {
      const ids = app.encode(d);
      expect(ids).toEqual(ours.encode(d));
      expect(app.decode(ids)).toBe(d);
      expect(ours.decode(ids)).toBe(d);
    }
    // A whole word that is one token (the corpus's commonest) reads back with its leading space.
    expect(ours.encode(' the')).toHaveLength(1);
    expect(app.tokenText(ours.encode(' the')[0])).toBe(' the');
  });

  it('is byte-for-byte deterministic and round-trips through fromTokenizerJson', () => {
    expect(toTokenizerJson(trainBpe(corpus.train, { vocabSize: 1024 }))).toBe(json);
    expect(fromTokenizerJson(json)).toEqual(model);
    const parsed = JSON.parse(json) as { model: { vocab: Record<string, number>; merges: string[] } };
    expect(parsed.model.merges).toHaveLength(1024 - 258);
    // The vocabulary is written in id order even for integer-like tokens such as "17".
    const vocabText = json.slice(json.indexOf('"vocab": {'), json.indexOf('"merges": ['));
    const order = [...vocabText.matchAll(/^ {6}("(?:[^"\\]|\\.)*"): (\d+),?$/gm)].map((m) => Number(m[2]));
    expect(order).toEqual(Array.from({ length: 1024 }, (_, i) => i));
  });

  it('rejects malformed files with an AtlasError', () => {
    expect(() => fromTokenizerJson('{not json')).toThrow(AtlasError);
    expect(() => fromTokenizerJson('{"model": {"type": "WordPiece"}}')).toThrow(AtlasError);
    const gappy = JSON.parse(json) as { model: { vocab: Record<string, number> } };
    gappy.model.vocab['Ġextra'] = 5000;
    expect(() => fromTokenizerJson(JSON.stringify(gappy))).toThrow(AtlasError);
    const reordered = JSON.parse(json) as { model: { merges: string[] } };
    [reordered.model.merges[0], reordered.model.merges[300]] = [
      reordered.model.merges[300],
      reordered.model.merges[0],
    ];
    expect(() => fromTokenizerJson(JSON.stringify(reordered))).toThrow(AtlasError);
  });
});
