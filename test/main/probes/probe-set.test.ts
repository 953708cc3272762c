// The behaviour probe set (main/probes/probe-set.ts): byte-identical to the set the micro corpus
// generator drew before the probes moved out of it (sha256 of its JSON, recorded from
// native-models/micro/corpus.ts `probeSet` just before the move, for the analysis's default counts
// and two other seeds and counts), deterministic, and well-formed against the templates it is
// drawn from.

import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { probeSet } from '../../../main/probes/probe-set.ts';
import { generateCorpus } from '../../../native-models/micro/corpus.ts';
import { MONTHS, NAMES, RUN_WORDS } from '../../../native-models/micro/lexicon.ts';
import { MICRO_RECIPE } from '../../../native-models/micro/suite.ts';
import { IOI_TEMPLATES } from '../../../native-models/micro/templates.ts';

const sha256 = (x: unknown): string => createHash('sha256').update(JSON.stringify(x)).digest('hex');

describe('the probe set is the one the corpus generator drew', () => {
  it("for the behaviour analysis's defaults (the micro corpus seed, 32 of each kind)", () => {
    const set = probeSet(MICRO_RECIPE.corpus.seed, { ioi: 32, yearSpan: 32, induction: 32, lists: 0 });
    expect(sha256(set)).toBe('8cca348fbdc84c73f33e78a3a783c985fa516c306ba0906a65c5d273890d9470');
  });

  it('for other seeds and counts', () => {
    expect(sha256(probeSet(5))).toBe('1c0222d9bec3396f9c2b751532fd0874e5b318fc6cb45561f808d8c9a1506971');
    expect(sha256(probeSet(7, { ioi: 200, yearSpan: 100, induction: 50, lists: 0 }))).toBe(
      '7ccf2c44e70dc43fede1548e12ad6998b40498de88b8f371a39b7285a840c882',
    );
  });
});

const allText = (() => {
  const corpus = generateCorpus({ seed: 11, nDocs: 1500 });
  return [...corpus.train, ...corpus.heldOut].join('\n');
})();

describe('probeSet', () => {
  const probes = probeSet(5);

  it('is deterministic and independent of corpus size', () => {
    expect(probeSet(5)).toEqual(probes);
    expect(probeSet(6).ioi).not.toEqual(probes.ioi);
  });

  it('IOI probes: prompt + correct name + "." is the sentence; orders balanced; every template used', () => {
    expect(probes.ioi).toHaveLength(64);
    for (const p of probes.ioi) {
      expect(`${p.prompt}${p.correct}.`).toBe(p.text);
      expect(p.correct).toBe(` ${p.io}`);
      expect(p.incorrect).toBe(` ${p.subject}`);
      expect(p.io).not.toBe(p.subject);
      expect(NAMES).toContain(p.io);
      // The subject is named twice in the prompt, the indirect object once.
      const count = (name: string): number => p.prompt.split(new RegExp(`\\b${name}\\b`)).length - 1;
      expect(count(p.subject)).toBe(2);
      expect(count(p.io)).toBe(1);
      // ABBA introduces the indirect object first.
      const first = p.prompt.indexOf(p.io) < p.prompt.indexOf(p.subject) ? 'io' : 's';
      expect(first).toBe(p.order === 'ABBA' ? 'io' : 's');
      // ABC corruption: the second subject mention replaced by a third name, nothing else changed.
      const at = p.prompt.lastIndexOf(p.subject);
      expect(p.corruptedPrompt).toBe(
        p.prompt.slice(0, at) + p.thirdName + p.prompt.slice(at + p.subject.length),
      );
      expect([p.io, p.subject]).not.toContain(p.thirdName);
    }
    expect(probes.ioi.filter((p) => p.order === 'ABBA')).toHaveLength(32);
    expect(new Set(probes.ioi.map((p) => p.template)).size).toBe(IOI_TEMPLATES.length);
  });

  it('year-span probes end on the century and have a later end year', () => {
    for (const p of probes.yearSpan) {
      expect(p.text.startsWith(p.prompt)).toBe(true);
      expect(p.prompt.endsWith(` the year ${p.century}`)).toBe(true);
      expect(p.text.slice(p.prompt.length)).toBe(`${String(p.endYY).padStart(2, '0')}.`);
      expect(p.prompt).toContain(` ${p.startYear} `);
      expect(p.startYear).toBe(p.century * 100 + p.startYY);
      expect(p.endYY).toBeGreaterThan(p.startYY);
      expect(p.startYY).toBeGreaterThanOrEqual(2);
      expect(p.corruptedPrompt).toBe(p.prompt.replace(String(p.startYear), `${p.century}01`));
    }
  });

  it('induction probes repeat their run right at the boundary', () => {
    for (const p of probes.induction) {
      const run = p.words.join(' ');
      expect(p.boundaryChar).toBe(p.prefix.length);
      expect(p.prefix.endsWith(` ${run}`)).toBe(true);
      expect(p.text.slice(p.boundaryChar)).toBe(` ${run}.`);
      expect(new Set(p.words).size).toBe(p.words.length);
      for (const w of p.words) expect(RUN_WORDS).toContain(w);
    }
  });

  it('list probes ask for the next item; fact probes are sentences of the corpus', () => {
    for (const p of probes.lists) {
      expect(`${p.prompt}${p.answer}.`).toBe(p.text);
      if (p.kind === 'months') {
        const i = MONTHS.indexOf(p.items[p.items.length - 2]);
        expect(p.answer).toBe(` ${MONTHS[(i + 1) % 12]}`);
      }
    }
    for (const f of probes.facts) expect(`${f.prompt}${f.answer}.`).toBe(f.text);
    expect(allText).toContain('The capital of France is Paris.');
  });
});
