// The generated corpus: determinism, a clean held-out split, and regularities checked by an
// independent reading of the text (regular expressions over the finished documents, not the
// generator's own labels). The probes drawn in its templates: test/main/probes/probe-set.test.ts.
import { describe, expect, it } from 'vitest';
import { END_OF_TEXT, generateCorpus, joinDocuments } from '../../../native-models/micro/corpus.ts';
import { DAYS, RUN_WORDS } from '../../../native-models/micro/lexicon.ts';

const corpus = generateCorpus({ seed: 11, nDocs: 1500 });
const allText = [...corpus.train, ...corpus.heldOut].join('\n');

describe('generateCorpus', () => {
  it('is deterministic in the seed', () => {
    expect(generateCorpus({ seed: 11, nDocs: 1500 })).toEqual(corpus);
    const other = generateCorpus({ seed: 12, nDocs: 1500 });
    expect(other.train.slice(0, 20)).not.toEqual(corpus.train.slice(0, 20));
  });

  it('splits into disjoint train and held-out sets of the asked sizes', () => {
    expect(corpus.train.length + corpus.heldOut.length).toBe(1500);
    expect(corpus.heldOut.length).toBe(75);
    const train = new Set(corpus.train);
    expect(train.size).toBe(corpus.train.length);
    for (const d of corpus.heldOut) expect(train.has(d)).toBe(false);
    const tiny = generateCorpus({ seed: 1, nDocs: 3 });
    expect(tiny.heldOut).toHaveLength(1);
    expect(generateCorpus({ seed: 1, nDocs: 4, heldOutFraction: 0 }).heldOut).toHaveLength(0);
  });

  it('documents are non-empty ASCII with no separator inside; joining appends <|endoftext|>', () => {
    for (const d of corpus.train) {
      expect(d.length).toBeGreaterThan(0);
      expect(d).not.toContain(END_OF_TEXT);
      expect(/^[\x20-\x7e\n]+$/.test(d)).toBe(true);
    }
    const joined = joinDocuments(corpus.heldOut.slice(0, 3));
    expect(joined.split(END_OF_TEXT)).toEqual([...corpus.heldOut.slice(0, 3), '']);
  });

  it('every IOI sentence of the first template gives the object to the name not repeated', () => {
    const re = /When (\w+) and (\w+) went to the (\w+), (\w+) gave an? (\w+) to (\w+)\./g;
    let n = 0;
    let abba = 0;
    for (const m of allText.matchAll(re)) {
      const [, x, y, , s, , io] = m;
      expect(x).not.toBe(y);
      expect([x, y]).toContain(s);
      expect(io).toBe(s === x ? y : x);
      if (io === x) abba++;
      n++;
    }
    expect(n).toBeGreaterThan(50);
    expect(abba / n).toBeGreaterThan(0.3); // both name orders occur
    expect(abba / n).toBeLessThan(0.7);
  });

  it('every year span ends later in the same century', () => {
    const re =
      /from the year (\d{4}) (?:to|until) the year (\d{4})|in the year (\d{4}) and ended in the year (\d{4})/g;
    let n = 0;
    for (const m of allText.matchAll(re)) {
      const start = Number(m[1] ?? m[3]);
      const end = Number(m[2] ?? m[4]);
      expect(Math.floor(start / 100)).toBe(Math.floor(end / 100));
      expect(end).toBeGreaterThan(start);
      expect(start).toBeGreaterThanOrEqual(1100);
      expect(end).toBeLessThan(2000);
      n++;
    }
    expect(n).toBeGreaterThan(100);
  });

  it('every random run is shown 2 to 8 times, back to back or after one filler sentence', () => {
    const intro = /(?:Repeat after me:|The code words are|She whispered|The parrot said|Listen:) /g;
    const pool = new Set(RUN_WORDS);
    /** How many copies of ` ${run}` `text` is, back to back; 0 if it is anything else. */
    const copiesOf = (text: string, run: string): number => {
      let k = 0;
      while (text.startsWith(` ${run}`, k * (run.length + 1))) k++;
      return k * (run.length + 1) === text.length ? k : 0;
    };
    let consecutive = 0;
    let gapped = 0;
    let many = 0;
    for (const doc of corpus.train) {
      for (const m of doc.matchAll(intro)) {
        const rest = doc.slice(m.index + m[0].length);
        const firstStop = rest.indexOf('.');
        const words = rest.slice(0, firstStop).split(' ');
        for (const w of words) expect(pool.has(w)).toBe(true);
        // Back to back: the shortest period that splits the words into 2+ equal copies.
        let copies = 0;
        for (let p = 1; p <= words.length / 2 && copies === 0; p++) {
          if (words.length % p === 0 && words.every((w, i) => w === words[i % p])) copies = words.length / p;
        }
        if (copies >= 2) {
          consecutive++;
          if (copies > 2) many++;
          continue;
        }
        // One filler sentence, then the run again, once or more.
        const secondStop = rest.indexOf('.', firstStop + 1);
        const after = rest.slice(secondStop + 1, rest.indexOf('.', secondStop + 1));
        copies = 1 + copiesOf(after, words.join(' '));
        expect(copies).toBeGreaterThanOrEqual(2);
        expect(copies).toBeLessThanOrEqual(8);
        gapped++;
      }
    }
    expect(consecutive).toBeGreaterThan(50);
    expect(gapped).toBeGreaterThan(10);
    expect(many).toBeGreaterThan(50); // most runs are shown more than twice
  });

  it('lists run in order', () => {
    for (const m of allText.matchAll(/((?:[A-Z][a-z]+day, )+[A-Z][a-z]+day)\./g)) {
      const items = m[1].split(', ');
      for (let i = 1; i < items.length; i++) {
        expect(DAYS.indexOf(items[i])).toBe((DAYS.indexOf(items[i - 1]) + 1) % 7);
      }
    }
    for (const m of allText.matchAll(/((?:\d+, )+\d+)\./g)) {
      const nums = m[1].split(', ').map(Number);
      for (let i = 1; i < nums.length; i++) expect(nums[i]).toBe(nums[i - 1] + 1);
    }
  });

  it('rejects bad options', () => {
    expect(() => generateCorpus({ seed: 1, nDocs: 0 })).toThrow();
    expect(() => generateCorpus({ seed: 1, nDocs: 10, heldOutFraction: 1 })).toThrow();
  });
});
