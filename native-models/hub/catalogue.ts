// The model catalogue: every suite model the app knows by name, its exact GPT-NeoX architecture,
// its hub repository and its checkpoint schedule, plus the parsing of revision specs (`stepN`, `N`,
// `main`). The Pythia rows come from Biderman et al. 2023, "Pythia: A Suite for Analyzing Large
// Language Models Across Training and Scaling" (Table 1 and the model cards on the hub). A
// `Catalogue` is an immutable list of suites; the app's (Pythia and the offline `micro-*` suite) is
// built by native-models/suites.ts and installed once by each composition root (main/cli.ts,
// main/transport/engine-main.ts, test/setup.ts). Nothing registers itself at import time.
//
// Hub naming (checked against the model cards as mirrored in 2026; the hub itself is unreachable
// here): all ten sizes have `EleutherAI/pythia-<size>` and `EleutherAI/pythia-<size>-deduped`.
// 14m and 31m were trained after the original suite. The 14m card says that before 2026-02-27 the
// model at `EleutherAI/pythia-14m` was trained on the deduplicated Pile; it now lives at
// `pythia-14m-deduped` and a standard-Pile model replaced it. The 31m card we saw still described
// a single deduped-only model at `EleutherAI/pythia-31m`; we assume 31m was split the same way as
// 14m but have not verified `pythia-31m-deduped`. If that repository is missing, the download
// reports "no model repository". A `pythia-14m`/`pythia-31m` snapshot cached before the split
// holds the deduped weights; the commit hash in the cache tells them apart.

import { AtlasError } from '../errors.ts';
import type { NeoxConfig } from '../neox/config.ts';

/** One model of a suite, as the rest of the app sees it. */
export interface SuiteModel {
  /** Canonical lower-case name: `pythia-70m`, `pythia-70m-deduped`, `micro-2l`. */
  name: string;
  /** Hub repository id (`EleutherAI/pythia-70m`), or null for a suite that exists only offline. */
  repo: string | null;
  /** Family prefix: `pythia`, `micro`, ... */
  family: string;
  /** Size label within the family: `70m`, `1.4b`. */
  size: string;
  /** Trained on the deduplicated Pile. */
  deduped: boolean;
  config: NeoxConfig;
  /** Every checkpoint step the hub (or the offline store) holds, ascending. */
  steps: readonly number[];
  /** Non-embedding parameters, L(12d^2 + 13d) + 2d for GPT-NeoX with biases and parallel residual. */
  nonEmbeddingParams: number;
  /** All parameters: non-embedding + embed_in + embed_out (untied), 2 * vocab * d. */
  totalParams: number;
  /** Anything a user should know about this entry (renamed repos, uncertain variants). */
  note?: string;
}

/** The 154 Pythia checkpoints: 0; 1, 2, 4, ..., 512; 1000 to 143000 every 1000. */
export const PYTHIA_STEPS: readonly number[] = Object.freeze([
  0,
  ...Array.from({ length: 10 }, (_, i) => 2 ** i),
  ...Array.from({ length: 143 }, (_, i) => (i + 1) * 1000),
]);

/** Tokens per optimiser step (batch 1024 x 2048). */
export const PYTHIA_TOKENS_PER_STEP = 2_097_152;

/** GPT-NeoX non-embedding parameter count: per layer 12d^2 + 13d (qkv, dense, MLP, two LNs), + final LN. */
export function neoxNonEmbeddingParams(numLayers: number, d: number): number {
  return numLayers * (12 * d * d + 13 * d) + 2 * d;
}

/** Architecture rows (layers, d_model, heads, embedding rows). Params as printed on the model cards. */
interface PythiaRow {
  size: string;
  layers: number;
  d: number;
  heads: number;
  vocab: number;
  /**
   * Published values, kept as data so a test can hold them against the formula: non-embedding from
   * the model cards' table; totals from the cards' renaming table (70m..12b) and, for 14m, from a
   * transformers GPTNeoXForCausalLM built with its config (FACTS.md). No published total for 31m.
   */
  cardNonEmbedding: number;
  cardTotal: number | null;
}

const PYTHIA_ROWS: readonly PythiaRow[] = [
  {
    size: '14m',
    layers: 6,
    d: 128,
    heads: 4,
    vocab: 50304,
    cardNonEmbedding: 1_189_888,
    cardTotal: 14_067_712,
  },
  { size: '31m', layers: 6, d: 256, heads: 8, vocab: 50304, cardNonEmbedding: 4_739_072, cardTotal: null },
  {
    size: '70m',
    layers: 6,
    d: 512,
    heads: 8,
    vocab: 50304,
    cardNonEmbedding: 18_915_328,
    cardTotal: 70_426_624,
  },
  {
    size: '160m',
    layers: 12,
    d: 768,
    heads: 12,
    vocab: 50304,
    cardNonEmbedding: 85_056_000,
    cardTotal: 162_322_944,
  },
  {
    size: '410m',
    layers: 24,
    d: 1024,
    heads: 16,
    vocab: 50304,
    cardNonEmbedding: 302_311_424,
    cardTotal: 405_334_016,
  },
  {
    size: '1b',
    layers: 16,
    d: 2048,
    heads: 8,
    vocab: 50304,
    cardNonEmbedding: 805_736_448,
    cardTotal: 1_011_781_632,
  },
  {
    size: '1.4b',
    layers: 24,
    d: 2048,
    heads: 16,
    vocab: 50304,
    cardNonEmbedding: 1_208_602_624,
    cardTotal: 1_414_647_808,
  },
  {
    size: '2.8b',
    layers: 32,
    d: 2560,
    heads: 32,
    vocab: 50304,
    cardNonEmbedding: 2_517_652_480,
    cardTotal: 2_775_208_960,
  },
  {
    size: '6.9b',
    layers: 32,
    d: 4096,
    heads: 32,
    vocab: 50432,
    cardNonEmbedding: 6_444_163_072,
    cardTotal: 6_857_302_016,
  },
  {
    size: '12b',
    layers: 36,
    d: 5120,
    heads: 40,
    vocab: 50688,
    cardNonEmbedding: 11_327_027_200,
    cardTotal: 11_846_072_320,
  },
];

/** The model-card parameter counts, for tests and the UI's model picker. */
export const PYTHIA_CARD_PARAMS: ReadonlyMap<string, { nonEmbedding: number; total: number | null }> =
  new Map(PYTHIA_ROWS.map((r) => [r.size, { nonEmbedding: r.cardNonEmbedding, total: r.cardTotal }]));

/** The exact GPT-NeoX config of a Pythia size (every size shares everything but L, d, H, vocab). */
export function pythiaConfig(layers: number, d: number, heads: number, vocab: number): NeoxConfig {
  return {
    numLayers: layers,
    hiddenSize: d,
    numHeads: heads,
    intermediateSize: 4 * d,
    vocabSize: vocab,
    rotaryPct: 0.25,
    rotaryBase: 10000,
    layerNormEps: 1e-5,
    useParallelResidual: true,
    maxPositions: 2048,
    hiddenAct: 'gelu',
    attentionBias: true,
  };
}

const SMALL_NOTES: Record<string, string> = {
  '14m': 'Before 2026-02-27 EleutherAI/pythia-14m held the deduped-trained model (now pythia-14m-deduped).',
  '31m':
    'Its card described one deduped-only model at EleutherAI/pythia-31m; the -deduped split is assumed, not verified.',
};

/** The Pythia suite: every size, standard and deduplicated, in the order of the model cards. */
export function pythiaSuite(): SuiteModel[] {
  const out: SuiteModel[] = [];
  for (const r of PYTHIA_ROWS) {
    for (const deduped of [false, true]) {
      const name = `pythia-${r.size}${deduped ? '-deduped' : ''}`;
      const m: SuiteModel = {
        name,
        repo: `EleutherAI/${name}`,
        family: 'pythia',
        size: r.size,
        deduped,
        config: pythiaConfig(r.layers, r.d, r.heads, r.vocab),
        steps: PYTHIA_STEPS,
        nonEmbeddingParams: neoxNonEmbeddingParams(r.layers, r.d),
        totalParams: neoxNonEmbeddingParams(r.layers, r.d) + 2 * r.vocab * r.d,
      };
      if (SMALL_NOTES[r.size]) m.note = SMALL_NOTES[r.size];
      out.push(m);
    }
  }
  return out;
}

/** Suites of models by name and hub id: built once from its suites, never changed afterwards. */
export class Catalogue {
  readonly #models: readonly SuiteModel[];

  /** Names and repos must be unique (case-insensitive); every model needs checkpoint steps. */
  constructor(suites: readonly (readonly SuiteModel[])[]) {
    const models: SuiteModel[] = [];
    for (const m of suites.flat()) {
      const name = m.name.toLowerCase();
      if (models.some((r) => r.name === name)) throw new Error(`suite model ${name} is listed twice`);
      if (m.repo !== null && models.some((r) => r.repo?.toLowerCase() === m.repo?.toLowerCase())) {
        throw new Error(`repository ${m.repo} is listed twice`);
      }
      if (m.steps.length === 0) throw new Error(`suite model ${name} has no checkpoint steps`);
      models.push({ ...m, name, steps: [...m.steps].sort((a, b) => a - b) });
    }
    this.#models = Object.freeze(models);
  }

  /** Every model, suite by suite, in the order given. */
  list(): readonly SuiteModel[] {
    return this.#models;
  }

  /** The entry for a suite name or hub id (any case), or undefined. */
  find(nameOrRepo: string): SuiteModel | undefined {
    const key = nameOrRepo.trim().toLowerCase();
    return this.#models.find((m) => m.name === key || (m.repo !== null && m.repo.toLowerCase() === key));
  }

  /**
   * `pythia-70m`, `pythia-70m-deduped`, `EleutherAI/pythia-70m` (any case) -> the entry. Unknown
   * names throw an AtlasError listing the valid ones.
   */
  resolve(name: string): SuiteModel {
    const m = this.find(name);
    if (m) return m;
    const names = this.#models.map((r) => r.name).join(', ');
    throw new AtlasError(`Unknown model "${name}"; the known models are ${names}.`);
  }
}

const PYTHIA_SUITE: readonly SuiteModel[] = new Catalogue([pythiaSuite()]).list();

let installed: Catalogue | undefined;

/**
 * Makes `catalogue` the one this process resolves model names with. Called once by each
 * composition root (the CLI, the engine process, the test setup), before anything resolves a spec.
 */
export function installCatalogue(catalogue: Catalogue): void {
  installed = catalogue;
}

/** The installed catalogue; throws if no composition root installed one (a bug, not a user error). */
export function suiteCatalogue(): Catalogue {
  if (installed === undefined) {
    throw new Error(
      'The model catalogue was not composed: the entry point must call installCatalogue(buildCatalogue()) (native-models/suites.ts) first.',
    );
  }
  return installed;
}

/** Every model of the installed catalogue, Pythia first. */
export function listSuiteModels(): readonly SuiteModel[] {
  return suiteCatalogue().list();
}

/** The Pythia rows only (whatever else the app composes). */
export function pythiaModelsList(): readonly SuiteModel[] {
  return PYTHIA_SUITE;
}

/** The installed catalogue's entry for a suite name or hub id, or undefined. */
export function findSuiteModel(nameOrRepo: string): SuiteModel | undefined {
  return suiteCatalogue().find(nameOrRepo);
}

/** The installed catalogue's entry for `name`, or an AtlasError listing the known models. */
export function resolveSuiteName(name: string): SuiteModel {
  return suiteCatalogue().resolve(name);
}

/** A parsed revision: the training step and its hub branch name. */
export interface ParsedRevision {
  step: number;
  revision: string;
}

/** The steps just below and above `n` in an ascending list (either may be missing). */
function neighbours(n: number, steps: readonly number[]): number[] {
  let below: number | undefined;
  let above: number | undefined;
  for (const s of steps) {
    if (s < n) below = s;
    else if (s > n && above === undefined) above = s;
  }
  return [below, above].filter((s): s is number => s !== undefined);
}

/** "step0, step1, ..." style summary of a schedule for error hints. */
function describeSchedule(steps: readonly number[]): string {
  if (steps === PYTHIA_STEPS) {
    return 'Pythia revisions are step0; step1, step2, step4, ..., step512; step1000 to step143000 every 1000; or main (= step143000).';
  }
  const shown = steps.length <= 12 ? steps : [...steps.slice(0, 6), '...', ...steps.slice(-3)];
  return `Revisions are ${shown.map((s) => (s === '...' ? s : `step${s}`)).join(', ')}, or main (= step${steps[steps.length - 1]}).`;
}

/**
 * `stepN`, `N` or `main` -> { step, revision: 'stepN' }, checked against the schedule (Pythia's by
 * default). Anything else throws an AtlasError naming the nearest valid steps; no network involved.
 */
export function parseRevision(spec: string, steps: readonly number[] = PYTHIA_STEPS): ParsedRevision {
  const s = spec.trim().toLowerCase();
  if (s === 'main') {
    const last = steps[steps.length - 1];
    return { step: last, revision: `step${last}` };
  }
  const m = /^(?:step)?(\d+)$/.exec(s);
  if (!m) {
    throw new AtlasError(
      `"${spec}" is not a checkpoint revision; write stepN, N or main.`,
      describeSchedule(steps),
    );
  }
  const n = Number(m[1]);
  if (steps.includes(n)) return { step: n, revision: `step${n}` };
  const near = neighbours(n, steps).map((x) => `step${x}`);
  throw new AtlasError(
    `step${n} is not a saved checkpoint; the nearest are ${near.join(' and ')}.`,
    describeSchedule(steps),
  );
}

/** The step a `stepN` revision names, or null for anything else (a commit, `main`). */
export function stepOfRevision(revision: string): number | null {
  const m = /^step(\d+)$/.exec(revision);
  return m ? Number(m[1]) : null;
}
