// Which tokenizer a queued model uses (issue 15): a model's own tokenizer always wins over the one
// set on the form or in Settings; a model without one needs one; a tokenizer with more ids than
// the model has embedding rows is refused before queueing, with advice for the window (not CLI
// flags). The tokenizer's id count is checked against the tokenizer.json read independently.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { modelVocabulary, tokenizersFor } from '../../../main/services/run-tokenizers.ts';

const TOKENIZER = join(import.meta.dirname, '../../../../shared/data/20B_tokenizer.json');
const dir = mkdtempSync(join(tmpdir(), 'atlas-tok-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A model folder with a config of `vocab` rows and, optionally, a tokenizer.json. */
function folder(name: string, vocab: number, withTokenizer: boolean): string {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, 'config.json'), JSON.stringify({ vocab_size: vocab }));
  if (withTokenizer) writeFileSync(join(d, 'tokenizer.json'), '{}');
  return d;
}

/** Ids of the 20B tokenizer counted from its JSON: the largest id in the vocabulary or added tokens, + 1. */
function idsInTokenizer(): number {
  const j = JSON.parse(readFileSync(TOKENIZER, 'utf8')) as {
    model: { vocab: Record<string, number> };
    added_tokens: { id: number }[];
  };
  return Math.max(...Object.values(j.model.vocab), ...j.added_tokens.map((t) => t.id)) + 1;
}

describe('tokenizers for queued models', () => {
  it('knows which models bring their own tokenizer', () => {
    expect(modelVocabulary('micro-m')).toEqual({ own: true, rows: 1024 });
    expect(modelVocabulary('pythia-70m')).toEqual({ own: true, rows: 50304 });
    expect(modelVocabulary('random:pythia-70m')).toEqual({ own: false, rows: 50304 });
    expect(modelVocabulary(folder('with', 64, true))).toEqual({ own: true, rows: 64 });
    expect(modelVocabulary(folder('without', 64, false))).toEqual({ own: false, rows: 64 });
  });

  it('applies a set tokenizer only to models that have none', async () => {
    const m = await tokenizersFor(['micro-m', 'pythia-70m', 'random:pythia-70m'], TOKENIZER);
    expect([...m.entries()]).toEqual([
      ['micro-m', undefined],
      ['pythia-70m', undefined],
      ['random:pythia-70m', TOKENIZER],
    ]);
  });

  it('refuses a model without a tokenizer when none is set, with advice for the window', async () => {
    const err = await tokenizersFor(['random:pythia-70m'], null).catch((e: unknown) => e);
    expect(err).toMatchObject({ message: 'random:pythia-70m has no tokenizer of its own, and none is set.' });
    expect((err as { hint: string }).hint).toMatch(/Runs form.*Library > Settings/);
    expect((err as { hint: string }).hint).not.toMatch(/--tokenizer/);
  });

  it('refuses a tokenizer with more ids than the model has embedding rows', async () => {
    const small = folder('small', 1024, false);
    const ids = idsInTokenizer();
    expect(ids).toBe(50277);
    const err = await tokenizersFor(['micro-m', small], TOKENIZER).catch((e: unknown) => e);
    expect(err).toMatchObject({
      message: `The tokenizer 20B_tokenizer.json has ${ids} token ids, but ${small} has only 1024 embedding rows.`,
    });
    expect((err as { hint: string }).hint).not.toMatch(/--tokenizer/);
    // Exactly enough rows is fine.
    const exact = folder('exact', ids, false);
    expect((await tokenizersFor([exact], TOKENIZER)).get(exact)).toBe(TOKENIZER);
  });
});
