// Tests for loadTokenizer on the real Pythia tokenizer (GPT-NeoX-20B BPE, ../shared/data): ids
// checked against Python `tokenizers` output (FACTS.md), round trips on Alpaca text, the per-token
// text against the library's own decoder, and the errors a user can hit.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AtlasError } from '../../../main/errors.ts';
import {
  loadTokenizer,
  parseTokenizer,
  type PythiaTokenizer,
} from '../../../native-models/tokenizer/tokenizer.ts';

const TOKENIZER = fileURLToPath(new URL('../../../../shared/data/20B_tokenizer.json', import.meta.url));
const ALPACA = fileURLToPath(new URL('../../../../shared/data/alpaca_5000.json', import.meta.url));

interface AlpacaRecord {
  instruction: string;
  input: string;
  output: string;
}

function alpacaTexts(n: number): string[] {
  const records = JSON.parse(readFileSync(ALPACA, 'utf8')) as AlpacaRecord[];
  return records.slice(0, n).map((r) => `${r.instruction}\n\n${r.input}\n\n${r.output}`);
}

let tok: PythiaTokenizer;
let tmp: string;

beforeAll(async () => {
  tok = await loadTokenizer(TOKENIZER);
  tmp = mkdtempSync(join(tmpdir(), 'atlas-tokenizer-'));
});

afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

describe('Pythia tokenizer ids (as Python tokenizers gives them)', () => {
  it.each([
    ['hello', [25521]],
    ['.', [15]],
    ['\n', [187]],
    ['.\n', [15, 187]],
    ['Hello world', [12092, 1533]],
    ['The cat sat on the mat.', [510, 5798, 2206, 327, 253, 1111, 15]],
    ['', []],
  ])('encode(%j)', (text, ids) => {
    expect(tok.encode(text)).toEqual(ids);
  });

  it('adds no BOS and maps special-token text to its id', () => {
    expect(tok.encode('a<|endoftext|>b')).toEqual([...tok.encode('a'), 0, ...tok.encode('b')]);
  });

  it('has the GPT-NeoX-20B vocabulary and special ids', () => {
    expect(tok.vocabSize).toBe(50277);
    expect(tok.eosId).toBe(0);
    expect(tok.padId).toBe(1);
    expect(tok.idToToken(0)).toBe('<|endoftext|>');
    expect(tok.idToToken(1)).toBe('<|padding|>');
    expect(tok.idToToken(1533)).toBe('Ġworld');
    expect(tok.idToToken(50276)).toBe('  ');
    expect(tok.idToToken(50277)).toBeUndefined();
    expect(tok.idToToken(-1)).toBeUndefined();
    expect(tok.idToToken(1.5)).toBeUndefined();
  });

  it('hashes the file bytes', () => {
    expect(tok.sha256).toBe(createHash('sha256').update(readFileSync(TOKENIZER)).digest('hex'));
  });
});

describe('round trips', () => {
  it('decode(encode(s)) === s on Alpaca records, spaces before punctuation included', () => {
    const texts = [...alpacaTexts(100), "don't , it's . I 'm", '  indented\n\n\ttabs   ', 'héllo 日本 🙂'];
    const t0 = performance.now();
    const encoded = texts.map((s) => tok.encode(s));
    const ms = performance.now() - t0;
    const nTokens = encoded.reduce((n, ids) => n + ids.length, 0);
    console.log(`encode: ${texts.length} texts, ${nTokens} tokens in ${ms.toFixed(1)} ms`);
    for (let i = 0; i < texts.length; i++) expect(tok.decode(encoded[i])).toBe(texts[i]);
  });

  it('token texts concatenate to the text when every token holds whole characters', () => {
    for (const s of alpacaTexts(20)) {
      const ids = tok.encode(s);
      const pieces = ids.map((id) => tok.tokenText(id));
      if (pieces.every((p) => !/\\x[0-9A-F]{2}/.test(p))) expect(pieces.join('')).toBe(s);
    }
  });
});

describe('tokenText', () => {
  it('reads byte-level tokens as text', () => {
    expect(tok.tokenText(1533)).toBe(' world');
    expect(tok.tokenText(187)).toBe('\n');
    expect(tok.tokenText(0)).toBe('<|endoftext|>');
    expect(tok.tokenText(50276)).toBe('  ');
  });

  it('escapes partial UTF-8 characters instead of losing them', () => {
    const ids = tok.encode('🙂'); // 4 bytes, split over several tokens
    expect(ids.length).toBeGreaterThan(1);
    expect(ids.map((id) => tok.tokenText(id)).join('')).toBe('\\xF0\\x9F\\x99\\x82');
    expect(tok.decode(ids)).toBe('🙂');
  });

  it('agrees with the library decoder on every id that holds whole characters', () => {
    let compared = 0;
    for (let id = 0; id < tok.vocabSize; id++) {
      const text = tok.tokenText(id);
      if (/\\x[0-9A-F]{2}/.test(text)) continue;
      expect(text).toBe(tok.decode([id]));
      compared++;
    }
    expect(compared).toBeGreaterThan(49_000);
  });
});

describe('loading', () => {
  it('loads the same tokenizer from bytes, a parsed object and a model directory', async () => {
    const bytes = readFileSync(TOKENIZER);
    const fromBytes = await loadTokenizer(new Uint8Array(bytes));
    expect(fromBytes.sha256).toBe(tok.sha256);
    expect(fromBytes.encode('Hello world')).toEqual([12092, 1533]);

    const fromObject = await loadTokenizer(JSON.parse(bytes.toString('utf8')) as Record<string, unknown>);
    expect(fromObject.encode('The cat')).toEqual([510, 5798]);

    // A model directory; the symlink stands in for its tokenizer.json.
    const modelDir = mkdtempSync(join(tmp, 'model-'));
    symlinkSync(TOKENIZER, join(modelDir, 'tokenizer.json'));
    expect((await loadTokenizer(modelDir)).sha256).toBe(tok.sha256);
  });

  it('reports a missing file', async () => {
    const missing = join(tmp, 'nope', 'tokenizer.json');
    await expect(loadTokenizer(missing)).rejects.toThrow(AtlasError);
    await expect(loadTokenizer(missing)).rejects.toThrow(/Tokenizer file not found/);
  });

  it('reports a file that is not JSON', async () => {
    const bad = join(tmp, 'bad.json');
    writeFileSync(bad, '{"model": ');
    await expect(loadTokenizer(bad)).rejects.toThrow(/is not valid JSON/);
  });

  it('reports JSON that is not a tokenizer.json', () => {
    const enc = new TextEncoder();
    expect(() => parseTokenizer(enc.encode('{"vocab": {}}'))).toThrow(/no "model" section/);
    expect(() => parseTokenizer(enc.encode('[1, 2]'))).toThrow(AtlasError);
    expect(() => parseTokenizer(enc.encode('{"model": {"type": "BPE"}, "added_tokens": 3}'))).toThrow(
      /added_tokens/,
    );
  });

  it('reports a tokenizer without <|endoftext|>', () => {
    const json = {
      model: { type: 'BPE', vocab: { a: 0, b: 1 }, merges: [] },
      added_tokens: [],
      normalizer: null,
      pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false },
      post_processor: { type: 'ByteLevel', add_prefix_space: false },
      decoder: { type: 'ByteLevel' },
    };
    expect(() => parseTokenizer(new TextEncoder().encode(JSON.stringify(json)))).toThrow(
      /no <\|endoftext\|> token/,
    );
  });

  it('rejects ids outside the vocabulary', () => {
    expect(() => tok.decode([12092, 50277])).toThrow(AtlasError);
    expect(() => tok.tokenText(-3)).toThrow(/not in the tokenizer's vocabulary/);
    expect(tok.decode([])).toBe('');
  });
});
