// Which tokenizer each queued model uses, decided before any job is queued (issue 15). A model that
// ships its own tokenizer (a suite checkpoint, a micro-suite model, a local folder with a
// tokenizer.json) always uses it: the tokenizer set on the Runs form or in Settings applies only to
// models that have none (`random:pythia-*`, a local folder without one). A model that has none and
// is given none, or is given one with more token ids than it has embedding rows, is refused here,
// in one sentence with advice for the window, so no job is queued only to fail.

import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { AtlasError } from '../errors.ts';
import { findSuiteModel } from '../../native-models/hub/catalogue.ts';
import { microCheckpointDir } from '../../native-models/micro/suite.ts';

/** Where a model's own tokenizer and its embedding rows come from, as far as it is known before loading. */
export interface ModelVocabulary {
  /** Whether the model brings its own tokenizer. */
  own: boolean;
  /** Embedding rows (the largest token id it accepts + 1), or null when unknown before loading. */
  rows: number | null;
}

const FORM_ADVICE =
  "Set 'Tokenizer (for models without one)' on the Runs form, or the tokenizer file in Library > Settings";

/** What the catalogue or the folder says about a model spec's tokenizer and vocabulary. */
export function modelVocabulary(spec: string): ModelVocabulary {
  if (spec.startsWith('random:')) {
    const size = spec.slice('random:'.length);
    const entry = findSuiteModel(size) ?? findSuiteModel(`pythia-${size}`);
    if (!entry) return { own: true, rows: null }; // the loader names the unknown size
    const microTok =
      entry.family === 'micro' && existsSync(join(microCheckpointDir(entry.name, 0), 'tokenizer.json'));
    return { own: microTok, rows: entry.config.vocabSize };
  }
  const entry = findSuiteModel(spec);
  if (entry) return { own: true, rows: entry.config.vocabSize };
  if (existsSync(join(spec, 'config.json'))) {
    let rows: number | null = null;
    try {
      const c = JSON.parse(readFileSync(join(spec, 'config.json'), 'utf8')) as { vocab_size?: unknown };
      rows = typeof c.vocab_size === 'number' ? c.vocab_size : null;
    } catch {
      // The loader reports a bad config.json.
    }
    return { own: existsSync(join(spec, 'tokenizer.json')), rows };
  }
  return { own: true, rows: null }; // not a model the loader knows: it says so on the job
}

/**
 * The tokenizer path per model (undefined: its own), or an AtlasError before anything is queued.
 * `given` is the form's tokenizer, else the one in Settings.
 */
export async function tokenizersFor(
  models: readonly string[],
  given: string | null,
): Promise<Map<string, string | undefined>> {
  const out = new Map<string, string | undefined>();
  const sizes = new Map<string, number>();
  for (const model of models) {
    const v = modelVocabulary(model);
    if (v.own) {
      out.set(model, undefined);
      continue;
    }
    if (!given)
      throw new AtlasError(
        `${model} has no tokenizer of its own, and none is set.`,
        `${FORM_ADVICE} to a tokenizer.json made for it (for Pythia sizes, the GPT-NeoX-20B tokenizer).`,
      );
    let size = sizes.get(given);
    if (size === undefined) {
      if (!existsSync(given))
        throw new AtlasError(
          `The tokenizer file ${given} does not exist.`,
          `${FORM_ADVICE} to an existing tokenizer.json.`,
        );
      const { loadTokenizer } = await import('../../native-models/tokenizer/tokenizer.ts');
      size = (await loadTokenizer(given)).vocabSize;
      sizes.set(given, size);
    }
    if (v.rows !== null && size > v.rows)
      throw new AtlasError(
        `The tokenizer ${basename(given)} has ${size} token ids, but ${model} has only ${v.rows} embedding rows.`,
        `${FORM_ADVICE} to the tokenizer this model was trained with.`,
      );
    out.set(model, given);
  }
  return out;
}
