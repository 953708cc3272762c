// `npm run bench`: one JSON object per line
//   { case, model, weights, device, threads, tokens, atlas_s, baseline, baseline_s, ratio }
// - profile: the forward with every `profile` reduction vs the plain forward of the same graph;
// - profile-vs-torch: the same profile pass vs PyTorch's plain forward (Hugging Face, eager) on the
//   same weights, shapes and threads, through test/bench/torch_baseline.py where python3 with
//   torch is available (skipped otherwise, with a line saying so), measured once per model for
//   both graph forms;
// - profile+grads: forward with the profile taps + the backward with the `grads` reductions vs the
//   plain forward+backward (loss gradient w.r.t. every parameter) of the same model, and vs PyTorch's
//   forward+backward;
// - plain-forward-vs-torch, plain-backward-vs-torch: the plain graphs vs PyTorch, for scale;
// - memory: peak RSS of the runner's profile pass over N and 4N sequences (flat in N).
// Shapes: random:pythia-70m (and pythia-160m with BENCH_MODELS), batch 8 x 256, CPU, 2 threads.
// Every graph is built as the runner builds it, in both of its forms (BENCH_WEIGHTS): the weights
// as graph inputs fed from the checkpoint's arrays each run ('inputs'), or inside the graph as
// initializers that ONNX Runtime pre-packs ('packed', the runner's choice for a long CPU pass:
// main/run/execute.ts packWeights); the session keeps or drops the CPU arena as the runner does
// (useCpuArena). What a whole batch of the runner costs, its analyses included, is
// test/bench/runner.ts. Each ratio against the plain graph times both sessions side by side,
// alternating runs, so drift on a shared machine falls on both; times are medians of BENCH_REPS
// runs after one warm-up each. Not part of `npm test`.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { buildCatalogue } from '../../native-models/suites.ts';
import { buildNeoxGraph, type TapSpec } from '../../native-models/neox/forward.ts';
import { randomNeoxWeights } from '../../native-models/neox/random.ts';
import { serializeModel } from '../../native-models/graph/onnx.ts';
import { createSession } from '../../native-models/runtime/session.ts';
import { writeSafetensors } from '../../native-models/weights/safetensors.ts';
import { PROFILE_REDUCTIONS, PROFILE_SITES } from '../../main/analyses/profile.ts';
import { GRAD_SITES } from '../../main/analyses/grads.ts';
import { buildNeoxGradientGraph } from '../../native-models/neox/backward.ts';
import type { NeoxConfig } from '../../native-models/neox/config.ts';
import type { StateDict } from '../../native-models/weights/types.ts';
import type { Graph } from '../../native-models/graph/ir.ts';
import { useCpuArena } from '../../main/run/execute.ts';
import { weightFeeds } from '../../main/run/graph-session.ts';
import { torchBaseline, torchConfig } from './torch-baseline.ts';
import { B, emit, median, MODELS, PYTHON, REPS, T, THREADS } from './common.ts';

const FORMS = (process.env.BENCH_WEIGHTS ?? 'inputs,packed').split(',') as ('inputs' | 'packed')[];

function feeds(cfg: NeoxConfig, seed: number): Record<string, ort.Tensor> {
  let x = seed;
  const ids = new BigInt64Array(B * T);
  for (let i = 0; i < ids.length; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    ids[i] = BigInt(2 + (x % (Math.min(cfg.vocabSize, 50000) - 2)));
  }
  return {
    input_ids: new ort.Tensor('int64', ids, [B, T]),
    attention_mask: new ort.Tensor('float32', new Float32Array(B * T).fill(1), [B, T]),
  };
}

/** One session of a graph, timed run by run. */
interface Timed {
  run(seed: number): Promise<number>;
  release(): Promise<void>;
}

async function openTimed(
  built: { graph: Graph; paramInputs?: string[] },
  cfg: NeoxConfig,
  weights: StateDict,
  fetches: string[],
  extra: Record<string, ort.Tensor> = {},
  gradients = false,
): Promise<Timed> {
  const s = await createSession(serializeModel(built.graph), {
    device: 'cpu',
    threads: THREADS,
    memArena: useCpuArena(weights, gradients),
  });
  const params = weightFeeds(built.paramInputs ?? [], weights);
  return {
    async run(seed) {
      const f = { ...feeds(cfg, seed), ...params, ...extra };
      const t0 = performance.now();
      await s.session.run(f, fetches);
      return (performance.now() - t0) / 1000;
    },
    release: () => s.session.release(),
  };
}

/** Medians of two sessions' runs, alternating A/B after a warm-up of each; both released. */
async function sideBySide(a: Timed, b: Timed): Promise<[number, number]> {
  await a.run(0);
  await b.run(0);
  const ta: number[] = [];
  const tb: number[] = [];
  for (let r = 1; r <= REPS; r++) {
    ta.push(await a.run(r));
    tb.push(await b.run(r));
  }
  await a.release();
  await b.release();
  return [median(ta), median(tb)];
}

function torchSeconds(dir: string, mode: 'forward' | 'backward'): number | null {
  const r = torchBaseline(
    PYTHON,
    { modelDir: dir },
    { batch: B, seq: T, threads: THREADS, mode, reps: REPS },
  );
  return typeof r === 'string' ? null : r.seconds;
}

const profileTaps: TapSpec[] = PROFILE_SITES.map((site) => ({ site, reductions: PROFILE_REDUCTIONS }));

for (const name of MODELS) {
  const entry = buildCatalogue().find(name);
  if (!entry) throw new Error(`unknown model ${name}`);
  const cfg = entry.config;
  const weights = randomNeoxWeights(cfg, 0);

  // PyTorch on the same weights, once per model for both graph forms.
  const torch: Record<'forward' | 'backward', number | null> = { forward: null, backward: null };
  const dir = mkdtempSync(join(tmpdir(), 'atlas-bench-'));
  try {
    await writeSafetensors(join(dir, 'model.safetensors'), weights);
    writeFileSync(join(dir, 'config.json'), JSON.stringify(torchConfig(cfg)));
    torch.forward = torchSeconds(dir, 'forward');
    torch.backward = torchSeconds(dir, 'backward');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  for (const form of FORMS) {
    const base = {
      model: `random:${entry.name}`,
      weights: form,
      device: 'cpu',
      threads: THREADS,
      tokens: B * T,
    };

    // The graph the runner builds: the loss outputs, no logits output.
    const lossMask = { loss_mask: new ort.Tensor('float32', new Float32Array(B * T).fill(1), [B, T]) };
    const asRunner = {
      outputs: { loss: true, logits: false },
      weights: form === 'packed' ? ('initializers' as const) : ('inputs' as const),
    };
    const plain = buildNeoxGraph(cfg, weights, asRunner);
    const prof = buildNeoxGraph(cfg, weights, { ...asRunner, taps: profileTaps });
    const [plainS, profS] = await sideBySide(
      await openTimed(plain, cfg, weights, ['token_loss'], lossMask),
      await openTimed(prof, cfg, weights, ['token_loss', ...prof.outputs.map((o) => o.name)], lossMask),
    );
    emit({
      case: 'profile',
      ...base,
      atlas_s: profS,
      baseline: 'onnx-plain-forward',
      baseline_s: plainS,
      ratio: profS / plainS,
    });

    // Forward + backward. Fetch what each pass needs: the plain one every parameter gradient.
    const plainBw = buildNeoxGradientGraph(cfg, weights, {
      params: { reductions: ['full'] },
      forward: asRunner,
    });
    const fullBw = buildNeoxGradientGraph(cfg, weights, {
      sites: GRAD_SITES.map((site) => ({ site, reductions: ['token_sumsq', 'seq_sumsq'] })),
      params: { reductions: ['full'] },
      forward: { ...asRunner, taps: profileTaps },
    });
    const [plainBwS, fullBwS] = await sideBySide(
      await openTimed(
        plainBw,
        cfg,
        weights,
        plainBw.gradOutputs.map((o) => o.name),
        lossMask,
        true,
      ),
      await openTimed(
        fullBw,
        cfg,
        weights,
        [...fullBw.outputs.map((o) => o.name), ...fullBw.gradOutputs.map((o) => o.name), 'token_loss'],
        lossMask,
        true,
      ),
    );
    emit({
      case: 'profile+grads',
      ...base,
      atlas_s: fullBwS,
      baseline: 'onnx-plain-forward-backward',
      baseline_s: plainBwS,
      ratio: fullBwS / plainBwS,
    });

    for (const [mode, atlasS, plainAtlasS, what] of [
      ['forward', profS, plainS, 'profile'],
      ['backward', fullBwS, plainBwS, 'profile+grads'],
    ] as const) {
      const torchS = torch[mode];
      const baseline = mode === 'forward' ? 'torch-eager-forward' : 'torch-eager-forward-backward';
      if (torchS === null) {
        emit({
          case: `${what}-vs-torch`,
          ...base,
          skipped: `${PYTHON} with torch and transformers not available`,
        });
        continue;
      }
      emit({
        case: `${what}-vs-torch`,
        ...base,
        atlas_s: atlasS,
        baseline,
        baseline_s: torchS,
        ratio: atlasS / torchS,
      });
      emit({
        case: `plain-${mode}-vs-torch`,
        ...base,
        atlas_s: plainAtlasS,
        baseline,
        baseline_s: torchS,
        ratio: plainAtlasS / torchS,
      });
    }
  }
}
