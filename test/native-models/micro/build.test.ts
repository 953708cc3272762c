// The data pipeline end to end with the real recipe: deterministic tokenizer bytes and batches, a
// stream that decodes back to the corpus, and probes whose answers are single tokens.
import { describe, expect, it } from 'vitest';
import { buildMicroData } from '../../../native-models/micro/build.ts';
import { END_OF_TEXT, joinDocuments } from '../../../native-models/micro/corpus.ts';
import { probeSet } from '../../../main/probes/probe-set.ts';
import { NAMES } from '../../../native-models/micro/lexicon.ts';
import { MICRO_RECIPE } from '../../../native-models/micro/suite.ts';
import type { MicroRecipe } from '../../../native-models/micro/suite.ts';

const data = buildMicroData();

describe('buildMicroData', () => {
  it('builds the default recipe in a few seconds at most and covers every training step', () => {
    const { corpusMs, tokenizerMs, encodeMs } = data.timings;
    console.log(
      `micro data: corpus ${corpusMs.toFixed(0)} ms, tokenizer ${tokenizerMs.toFixed(0)} ms, ` +
        `encode + order ${encodeMs.toFixed(0)} ms; ${data.trainStream.length} train tokens, ` +
        `${data.heldOutStream.length} held-out tokens`,
    );
    expect(corpusMs + tokenizerMs + encodeMs).toBeLessThan(10_000);
    const tokensNeeded = MICRO_RECIPE.steps * MICRO_RECIPE.data.batchSize * MICRO_RECIPE.data.seqLen;
    expect(data.trainStream.length).toBeGreaterThan(0.9 * tokensNeeded); // about one epoch
    expect(data.bpe.vocab).toHaveLength(MICRO_RECIPE.tokenizer.vocabSize);
  });

  it('is deterministic: same recipe, same tokenizer bytes, data key and batches', () => {
    const small: MicroRecipe = { ...MICRO_RECIPE, corpus: { ...MICRO_RECIPE.corpus, nDocs: 1500 } };
    const a = buildMicroData(small);
    const b = buildMicroData(small);
    expect(b.tokenizerJson).toBe(a.tokenizerJson);
    expect(b.dataKey).toBe(a.dataKey);
    for (const s of [0, 1, 100, 1023]) expect(b.order.batchAt(s)).toEqual(a.order.batchAt(s));
    const c = buildMicroData({ ...small, corpus: { ...small.corpus, seed: small.corpus.seed + 1 } });
    expect(c.dataKey).not.toBe(a.dataKey);
  });

  it('the token streams decode back to the documents with <|endoftext|> after each', () => {
    expect(data.encoder.decode(Array.from(data.heldOutStream))).toBe(joinDocuments(data.corpus.heldOut));
    const head = data.encoder.decode(Array.from(data.trainStream.subarray(0, 5000)));
    expect(joinDocuments(data.corpus.train).startsWith(head)).toBe(true);
    expect(head.split(END_OF_TEXT).length).toBeGreaterThan(5);
  });

  it('tokenises the probes cleanly: one-token names, century + two digits, aligned repeat boundary', () => {
    const enc = data.encoder;
    for (const n of NAMES) expect(enc.encode(` ${n}`)).toHaveLength(1);
    const probes = probeSet(1);
    for (const p of probes.ioi) {
      expect(enc.encode(p.correct)).toHaveLength(1);
      expect(enc.encode(p.incorrect)).toHaveLength(1);
      // The prompt's tokens are a prefix of the full sentence's tokens, so the next token is the answer.
      const full = enc.encode(p.text);
      const prompt = enc.encode(p.prompt);
      expect(full.slice(0, prompt.length)).toEqual(prompt);
      expect(full[prompt.length]).toBe(enc.encode(p.correct)[0]);
    }
    for (const p of probes.yearSpan) {
      const full = enc.encode(p.text);
      const prompt = enc.encode(p.prompt);
      expect(full.slice(0, prompt.length)).toEqual(prompt);
      expect(enc.decode([full[prompt.length]])).toBe(String(p.endYY).padStart(2, '0'));
      expect(enc.decode(prompt.slice(-1))).toBe(` ${p.century}`);
    }
    for (const p of probes.induction) {
      const full = enc.encode(p.text);
      const prefix = enc.encode(p.prefix);
      expect(full.slice(0, prefix.length)).toEqual(prefix);
      // The second copy's tokens repeat the first copy's tokens exactly.
      const run = enc.encode(` ${p.words.join(' ')}`);
      expect(full.slice(prefix.length, prefix.length + run.length)).toEqual(run);
      expect(prefix.slice(-run.length)).toEqual(run);
    }
  });
});
