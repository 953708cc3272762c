// `npm run bench:preview`: the steering preview's latency (issue 11: "the time from a scale change to
// the updated preview"), one JSON object per line:
//   { case: 'machine', cpu, cores, node }
//   { case: 'preview', model, revision, d, layers, prompt_tokens, lens, open_ms, median_ms, worst_ms,
//     runs, builds_during_runs }
// For each model: a random vector (seeded, norm = the model's sqrt(d)) at resid_post of the middle
// layer and a prompt of exactly 32 tokens. The first previewVector call loads the model and builds
// the session (open_ms); then 20 calls each with a new scale (the slider moving), timed from the
// call to its resolved result through the service the API uses (main/services/vectors.ts): that is
// the scale-change-to-updated-preview time the editor sees, minus the transport (a WebSocket or IPC
// message of a few kB). Without and with the per-layer logit lens. builds_during_runs must be 0.
// Models: the sample project's largest micro model (micro-l at its last checkpoint, trained by
// `pythia-atlas demo`) and random:pythia-160m (the 20B tokenizer from ../shared/data). Not part of
// `npm test`. Usage: node bin/run-ts.js test/bench/vector-preview.ts [--runs N] [--models a,b]

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { installCatalogue } from '../../native-models/hub/catalogue.ts';
import { buildCatalogue } from '../../native-models/suites.ts';
import { microSteps } from '../../native-models/micro/suite.ts';
import { Project } from '../../main/library/project.ts';
import { VectorService } from '../../main/services/vectors.ts';
import { emit } from './common.ts';

installCatalogue(buildCatalogue());

const TOKENIZER = resolve(import.meta.dirname, '../../../shared/data/20B_tokenizer.json');
const TEXT =
  'Once upon a time in a small village by the sea there lived an old fisherman who went out every ' +
  'morning before dawn to cast his nets, and every evening he came home to tell his grandchildren ' +
  'stories about the strange creatures he had seen beneath the waves and the storms he had survived.';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const RUNS = Number(arg('runs', '20'));

function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) return m[1].trim();
  } catch {
    // not Linux
  }
  return cpus()[0]?.model ?? 'unknown';
}

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** A seeded vector of norm sqrt(d). */
function vector(d: number, seed: number): Float32Array {
  let a = seed >>> 0;
  const rand = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const v = Float32Array.from({ length: d }, () => rand() * 2 - 1);
  const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return v.map((x) => (x * Math.sqrt(d)) / n);
}

async function bench(spec: string, revision: string | undefined, tokenizer: string | null): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-preview-'));
  const project = Project.create(join(dir, 'p.pythia-atlas'));
  const service = new VectorService({
    project: () => project,
    defaults: () => ({ n: 8, seqLen: 32, prependBos: false, tokenizer }),
    progress: () => undefined,
  });
  try {
    const model = await service.cache.model(spec, revision, tokenizer ?? undefined);
    // A prompt of exactly 32 tokens: the longest prefix of the text's words that encodes to <= 32,
    // then its first 32 tokens decoded (checked to re-encode to 32).
    const ids = model.tokenizer.encode(TEXT).slice(0, 32);
    const prompt = model.tokenizer.decode(ids);
    const n = model.tokenizer.encode(prompt).length;
    if (n !== 32) throw new Error(`the prompt encodes to ${n} tokens, not 32`);
    const d = model.config.hiddenSize;
    const layer = Math.floor(model.config.numLayers / 2);
    const v = { data: vector(d, 17), site: 'resid_post' as const, layer };
    for (const lens of [false, true]) {
      const t0 = performance.now();
      await service.previewVector({ model: spec, revision, vector: v, scale: 0.5, prompt, lens });
      const openMs = performance.now() - t0;
      const builds = service.cache.builds;
      const ts: number[] = [];
      for (let r = 0; r < RUNS; r++) {
        const scale = 1 + r * 0.25; // the slider moving
        const s = performance.now();
        const p = await service.previewVector({ model: spec, revision, vector: v, scale, prompt, lens });
        ts.push(performance.now() - s);
        if (!p.warm) throw new Error('a timed preview was not warm');
      }
      emit({
        case: 'preview',
        model: spec,
        revision: revision ?? null,
        d,
        layers: model.config.numLayers,
        vector_layer: layer,
        prompt_tokens: 32,
        lens,
        open_ms: Math.round(openMs),
        median_ms: Number(median(ts).toFixed(1)),
        worst_ms: Number(Math.max(...ts).toFixed(1)),
        runs: RUNS,
        builds_during_runs: service.cache.builds - builds,
      });
    }
  } finally {
    await service.dispose();
    project.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

emit({ case: 'machine', cpu: cpuModel(), cores: cpus().length, node: process.version });
const steps = microSteps();
const models = arg('models', 'micro-l,random:pythia-160m').split(',');
for (const m of models) {
  if (m.startsWith('micro-')) await bench(m, `step${steps[steps.length - 1]}`, null);
  else await bench(m, undefined, TOKENIZER);
}
