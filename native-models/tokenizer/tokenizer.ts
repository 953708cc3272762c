// Loading a Hugging Face tokenizer.json (https://huggingface.co/docs/tokenizers, "tokenizer.json"
// serialisation) and wrapping @huggingface/tokenizers behind the TextTokenizer contract. For
// Pythia this is the GPT-NeoX-20B byte-level BPE (Black et al. 2022): NFC normaliser, ByteLevel
// pre-tokeniser and decoder, 50277 ids. Encoding adds no special tokens and no BOS, as Python's
// `tokenizer(text, add_special_tokens=False)`; decoding does no space clean-up, so decode(encode(s))
// gives s back.

import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { AtlasError } from '../errors.ts';
import { readableUtf8, tokenBytes } from './byte-level.ts';
import type { TextTokenizer } from './types.ts';

export const EOS_TOKEN = '<|endoftext|>';
export const PAD_TOKEN = '<|padding|>';

interface AddedTokenEntry {
  id: number;
  content: string;
}

/** The parts of a tokenizer.json this module checks before handing it to the library. */
interface TokenizerJsonShape {
  model: { type: string };
  added_tokens: AddedTokenEntry[];
  decoder?: { type?: string } | null;
  [key: string]: unknown;
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Checks the top-level shape of a parsed tokenizer.json; `label` names the source in errors. */
function checkTokenizerJson(json: unknown, label: string): TokenizerJsonShape {
  if (!isRecord(json) || !isRecord(json.model) || typeof json.model.type !== 'string') {
    throw new AtlasError(
      `${label} is not a Hugging Face tokenizer.json (it has no "model" section with a "type").`,
      'Pass the tokenizer.json of the model, e.g. the one from EleutherAI/pythia-70m.',
    );
  }
  const added = json.added_tokens ?? [];
  if (!Array.isArray(added)) {
    throw new AtlasError(`${label} is not a valid tokenizer.json ("added_tokens" is not a list).`);
  }
  for (const t of added) {
    if (!isRecord(t) || !Number.isInteger(t.id) || typeof t.content !== 'string') {
      throw new AtlasError(
        `${label} is not a valid tokenizer.json (an added token lacks an integer "id" or a "content").`,
      );
    }
  }
  return { ...json, model: json.model as { type: string }, added_tokens: added as AddedTokenEntry[] };
}

/** A tokenizer.json behind the TextTokenizer contract. Build it with loadTokenizer or parseTokenizer. */
export class PythiaTokenizer implements TextTokenizer {
  readonly vocabSize: number;
  readonly eosId: number;
  readonly padId: number | null;
  readonly sha256: string;
  private readonly tokenizer: Tokenizer;
  private readonly addedContent: Map<number, string>;
  private readonly byteLevel: boolean;

  constructor(json: TokenizerJsonShape, sha256: string, label: string) {
    try {
      this.tokenizer = new Tokenizer(json, { clean_up_tokenization_spaces: false });
    } catch (e) {
      throw new AtlasError(`${label} could not be loaded as a tokenizer: ${(e as Error).message}`);
    }
    this.sha256 = sha256;
    this.addedContent = new Map(json.added_tokens.map((t) => [t.id, t.content]));
    this.byteLevel = json.decoder?.type === 'ByteLevel';
    let maxId = -1;
    for (const id of this.tokenizer.get_vocab(true).values()) maxId = Math.max(maxId, id);
    this.vocabSize = maxId + 1;
    const eos = this.tokenizer.token_to_id(EOS_TOKEN);
    if (eos === undefined) {
      throw new AtlasError(`${label} has no ${EOS_TOKEN} token, so it is not a Pythia (GPT-NeoX) tokenizer.`);
    }
    this.eosId = eos;
    this.padId = this.tokenizer.token_to_id(PAD_TOKEN) ?? null;
  }

  encode(text: string): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: false }).ids;
  }

  decode(ids: number[]): string {
    if (ids.length === 0) return '';
    for (const id of ids) this.checkId(id);
    return this.tokenizer.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  }

  idToToken(id: number): string | undefined {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) return undefined;
    return this.tokenizer.id_to_token(id);
  }

  tokenText(id: number): string {
    const token = this.checkId(id);
    const added = this.addedContent.get(id);
    if (added !== undefined) return added; // added tokens are stored as plain text, not byte-level
    if (this.byteLevel) {
      const bytes = tokenBytes(token);
      if (bytes !== null) return readableUtf8(bytes);
    }
    return this.tokenizer.decode([id], { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  }

  /** The raw token of `id`, or an AtlasError naming the id if the vocabulary has none. */
  private checkId(id: number): string {
    const token = this.idToToken(id);
    if (token === undefined) {
      throw new AtlasError(`Token id ${id} is not in the tokenizer's vocabulary (0..${this.vocabSize - 1}).`);
    }
    return token;
  }
}

/** Builds a tokenizer from the bytes of a tokenizer.json; `label` names the source in errors. */
export function parseTokenizer(bytes: Uint8Array, label = 'The tokenizer file'): PythiaTokenizer {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw new AtlasError(`${label} is not valid JSON: ${(e as Error).message}`);
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return new PythiaTokenizer(checkTokenizerJson(json, label), sha256, label);
}

/**
 * Loads a tokenizer from a tokenizer.json path (or a model directory holding one), the file's bytes,
 * or an already parsed tokenizer.json object (its sha256 is then that of JSON.stringify(object)).
 */
export async function loadTokenizer(
  source: string | Uint8Array | Record<string, unknown>,
): Promise<PythiaTokenizer> {
  if (source instanceof Uint8Array) return parseTokenizer(source);
  if (typeof source !== 'string') {
    return parseTokenizer(new TextEncoder().encode(JSON.stringify(source)), 'The tokenizer object');
  }
  let path = source;
  try {
    if ((await stat(path)).isDirectory()) path = join(path, 'tokenizer.json');
  } catch {
    // Reported below by readFile with the path the user gave.
  }
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new AtlasError(
        `Tokenizer file not found: ${path}`,
        'Pass --tokenizer with the path of a tokenizer.json (Pythia: EleutherAI/pythia-70m tokenizer.json).',
      );
    }
    throw new AtlasError(`Tokenizer file ${path} could not be read: ${(e as Error).message}`);
  }
  return parseTokenizer(bytes, `Tokenizer file ${path}`);
}
