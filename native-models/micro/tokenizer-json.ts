// A BpeModel written as, and read back from, a Hugging Face tokenizer.json (the serialisation of
// the `tokenizers` library, https://huggingface.co/docs/tokenizers; the same sections as
// EleutherAI's GPT-NeoX-20B tokenizer.json that every Pythia repository ships): NFC normaliser,
// ByteLevel pre-tokeniser / post-processor / decoder without a prefix space, a BPE model with no
// unknown token, and <|endoftext|> = 0 and <|padding|> = 1 as special added tokens. So the app's
// normal loading path (@huggingface/tokenizers `new Tokenizer(json, config)`, or Python's
// `tokenizers.Tokenizer.from_file`) reads a micro checkpoint's tokenizer like Pythia's.

import { AtlasError } from '../errors.ts';
import { BpeEncoder, FIRST_MERGE_ID, SPECIAL_TOKENS } from './bpe.ts';
import type { BpeModel } from './bpe.ts';

const BYTE_LEVEL = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };

/** tokenizer_config.json for a micro checkpoint (Pythia's keys; no space clean-up so decode inverts encode). */
export function microTokenizerConfig(maxLength: number): Record<string, unknown> {
  return {
    tokenizer_class: 'GPTNeoXTokenizer',
    add_prefix_space: false,
    bos_token: SPECIAL_TOKENS[0],
    eos_token: SPECIAL_TOKENS[0],
    unk_token: SPECIAL_TOKENS[0],
    pad_token: null,
    clean_up_tokenization_spaces: false,
    model_max_length: maxLength,
  };
}

/**
 * The tokenizer.json text of `model`: pretty-printed (two-space indent, as `tokenizers` saves with
 * pretty=true), vocabulary in id order, merges as "left right" strings as in Pythia's file. Same
 * model, same bytes.
 */
export function toTokenizerJson(model: BpeModel): string {
  const VOCAB = '"@@VOCAB@@"';
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map((content, id) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: { type: 'NFC' },
    pre_tokenizer: BYTE_LEVEL,
    post_processor: BYTE_LEVEL,
    decoder: BYTE_LEVEL,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: '@@VOCAB@@',
      merges: model.merges.map(([a, b]) => `${a} ${b}`),
    },
  };
  // JSON objects put integer-like keys ("17") first; write the vocabulary by hand to keep id order.
  const vocab = model.vocab.map((t, id) => `      ${JSON.stringify(t)}: ${id}`).join(',\n');
  const text = JSON.stringify(json, null, 2);
  if (text.split(VOCAB).length !== 2) throw new Error('tokenizer.json placeholder clash');
  return text.replace(VOCAB, `{\n${vocab}\n    }`) + '\n';
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/**
 * A BpeModel from tokenizer.json text written by toTokenizerJson (or any byte-level BPE laid out
 * the same way: added tokens 0 and 1, then the 256 bytes, then one id per merge). Anything else
 * throws an AtlasError.
 */
export function fromTokenizerJson(text: string, label = 'The micro tokenizer.json'): BpeModel {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new AtlasError(`${label} is not valid JSON: ${(e as Error).message}`);
  }
  const model = isRecord(json) ? json.model : undefined;
  if (!isRecord(model) || model.type !== 'BPE' || !isRecord(model.vocab) || !Array.isArray(model.merges)) {
    throw new AtlasError(`${label} has no BPE model with a vocabulary and merges.`);
  }
  const entries = Object.entries(model.vocab);
  const vocab = new Array<string>(entries.length);
  for (const [token, id] of entries) {
    if (
      !Number.isInteger(id) ||
      (id as number) < 0 ||
      (id as number) >= entries.length ||
      vocab[id as number] !== undefined
    ) {
      throw new AtlasError(
        `${label} has a vocabulary whose ids are not 0..${entries.length - 1} without gaps.`,
      );
    }
    vocab[id as number] = token;
  }
  const merges = model.merges.map((m): [string, string] => {
    const pair = typeof m === 'string' ? m.split(' ') : m;
    if (!Array.isArray(pair) || pair.length !== 2 || pair.some((p) => typeof p !== 'string')) {
      throw new AtlasError(`${label} has a malformed merge: ${JSON.stringify(m)}.`);
    }
    return [pair[0] as string, pair[1] as string];
  });
  if (merges.length !== vocab.length - FIRST_MERGE_ID) {
    throw new AtlasError(
      `${label} is not laid out as a micro tokenizer (bytes first, then one id per merge).`,
    );
  }
  const out: BpeModel = { vocab, merges };
  try {
    new BpeEncoder(out); // checks specials, merge ids and duplicates
  } catch (e) {
    throw new AtlasError(`${label} is not a micro tokenizer: ${(e as Error).message}.`);
  }
  return out;
}
