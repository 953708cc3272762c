// The `behaviour` probes tokenised with the real Pythia tokenizer (../shared/data/20B_tokenizer.json)
// and the tiny fixture's byte-level one, checked against the text they come from: every IOI
// candidate is the token that follows the prompt in prompt + name; a year prompt is used exactly
// when both of its years read back as [" 17", "32"] (the Pythia tokenizer merges " 1900" and
// " 1848" whole and splits " 1375" as [" 137", "5"]), and its own sentence then continues it with
// the end year's two-digit token; the two copies of each run decode to the run and have identical tokens;
// a BOS shifts everything by one; the context limit leaves long probes out.

import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { candidateIds, tokeniseProbes, yearTokens } from '../../../main/probes/behaviour-probes.ts';
import { probeSet } from '../../../main/probes/probe-set.ts';
import { loadTokenizer } from '../../../native-models/tokenizer/tokenizer.ts';
import type { TextTokenizer } from '../../../native-models/tokenizer/types.ts';

const PYTHIA = join(import.meta.dirname, '../../../../shared/data/20B_tokenizer.json');
const TINY = join(import.meta.dirname, '../../fixtures/data/tiny-pipeline/tokenizer.json');
const SET = probeSet(20260101, { ioi: 32, yearSpan: 48, induction: 32, lists: 0 });

let pythia: TextTokenizer;
let tiny: TextTokenizer;
beforeAll(async () => {
  pythia = await loadTokenizer(PYTHIA);
  tiny = await loadTokenizer(TINY);
});

describe('behaviour probes with the Pythia tokenizer', () => {
  it('finds the one-token two-digit years and the prompts whose years split as [" 17", "32"]', () => {
    const yy = yearTokens(pythia)!;
    expect(yy).not.toBeNull();
    yy.forEach((id, n) => expect(pythia.decode([id])).toBe(String(n).padStart(2, '0')));
    // The tokenizer's own merges decide which centuries qualify (" 1900" is one token).
    expect(pythia.encode(' 1900')).toHaveLength(1);
    expect(pythia.encode(' 1848')).toHaveLength(1);
    expect(pythia.encode(' 1732')).toHaveLength(2);
    expect(pythia.decode([pythia.encode(' 1375')[0]])).toBe(' 137');
    const probes = tokeniseProbes(pythia, SET, { prependBos: false, maxTokens: 2048 });
    expect(probes.years.length + probes.skipped.years).toBe(SET.yearSpan.length);
    expect(SET.yearSpan.filter((p) => p.century === 19).length).toBeGreaterThan(0);
    // A year qualifies when its tokens read back as the century and the two digits.
    const twoByTwo = (year: number) =>
      pythia
        .encode(` ${year}`)
        .map((id) => pythia.decode([id]))
        .join('|') === ` ${String(year).slice(0, 2)}|${String(year).slice(2)}`;
    let k = 0;
    for (const p of SET.yearSpan) {
      const whole = pythia.encode(`${p.prompt}${String(p.endYY).padStart(2, '0')}`);
      const kept = twoByTwo(p.startYear) && twoByTwo(p.endYear);
      if (p.century === 19) expect(kept).toBe(false);
      if (!kept) continue;
      const item = probes.years[k++];
      expect(item.startYY).toBe(p.startYY);
      expect(pythia.decode(item.ids)).toBe(p.prompt);
      // The sentence itself continues the prompt with the end year's two-digit token.
      expect(whole).toEqual([...item.ids, yy[p.endYY]]);
    }
    expect(k).toBe(probes.years.length);
    expect(k).toBeGreaterThan(SET.yearSpan.length / 4);
    expect(probes.skipped.years).toBeGreaterThan(0);
  });

  it('takes each name as the token that follows the prompt', () => {
    const probes = tokeniseProbes(pythia, SET, { prependBos: false, maxTokens: 2048 });
    expect(probes.ioi).toHaveLength(SET.ioi.length);
    probes.ioi.forEach((item, i) => {
      const p = SET.ioi[i];
      expect(pythia.decode(item.ids)).toBe(p.prompt);
      expect(pythia.decode([item.correct])).toBe(p.correct);
      expect(pythia.decode([item.incorrect])).toBe(p.incorrect);
      expect(pythia.encode(p.prompt + p.correct).slice(0, -1)).toEqual(item.ids);
    });
    const cands = candidateIds(probes);
    expect(new Set(cands).size).toBe(cands.length);
    for (const item of probes.ioi) expect(cands).toContain(item.correct);
    for (const id of probes.yearTokens!) expect(cands).toContain(id);
  });

  it('marks the two copies of each run, identical and decoding to the run', () => {
    const probes = tokeniseProbes(pythia, SET, { prependBos: false, maxTokens: 2048 });
    expect(probes.induction).toHaveLength(SET.induction.length);
    probes.induction.forEach((item, i) => {
      const r = SET.induction[i];
      const run = ` ${r.words.join(' ')}`;
      const first = item.ids.slice(item.start, item.start + item.length);
      const second = item.ids.slice(item.start + item.length);
      expect(second).toEqual(first);
      expect(pythia.decode(first)).toBe(run);
      expect(pythia.decode(item.ids)).toBe(r.prefix + run);
      expect(pythia.decode(item.ids.slice(0, item.start))).toBe(r.prefix.slice(0, -run.length));
    });
  });

  it('shifts every sequence by a BOS and leaves out probes longer than the context', () => {
    const plain = tokeniseProbes(pythia, SET, { prependBos: false, maxTokens: 2048 });
    const bos = tokeniseProbes(pythia, SET, { prependBos: true, maxTokens: 2048 });
    bos.induction.forEach((item, i) => {
      expect(item.ids).toEqual([pythia.eosId, ...plain.induction[i].ids]);
      expect(item.start).toBe(plain.induction[i].start + 1);
    });
    bos.ioi.forEach((item, i) => expect(item.ids).toEqual([0, ...plain.ioi[i].ids]));
    const limit = 30;
    const cut = tokeniseProbes(pythia, SET, { prependBos: false, maxTokens: limit });
    const fit = plain.induction.filter((r) => r.ids.length <= limit);
    expect(fit.length).toBeGreaterThan(0);
    expect(fit.length).toBeLessThan(plain.induction.length);
    expect(cut.induction).toEqual(fit);
    expect(cut.skipped.induction).toBe(plain.induction.length - fit.length);
  });
});

describe('behaviour probes with a byte-level toy tokenizer', () => {
  it('has no two-digit tokens, so no year probe; names sharing a first byte are left out', () => {
    expect(tiny.encode('32')).toHaveLength(2);
    expect(yearTokens(tiny)).toBeNull();
    const probes = tokeniseProbes(tiny, SET, { prependBos: false, maxTokens: 128 });
    expect(probes.years).toHaveLength(0);
    expect(probes.skipped.years).toBe(SET.yearSpan.length);
    const differ = SET.ioi.filter((p) => tiny.encode(p.correct)[0] !== tiny.encode(p.incorrect)[0]);
    expect(probes.ioi).toHaveLength(differ.length);
    expect(probes.ioi.length + probes.skipped.ioi).toBe(SET.ioi.length);
    expect(candidateIds(probes).length).toBeLessThanOrEqual(2 * probes.ioi.length);
  });
});
