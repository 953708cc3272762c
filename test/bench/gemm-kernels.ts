// Where the CPU time of a forward and backward goes, kernel against kernel: ONNX Runtime's float32
// Gemm (MLAS) against PyTorch's (MKL/oneDNN) on the products of one Pythia batch (8 x 256 tokens),
// the same shapes, transposes and threads. One JSON object per line:
//   { case: 'gemm', model, product, m, k, n, ort_ms, torch_ms, ratio, ort_gflops, torch_gflops }
// Products (W [out, in] as Hugging Face stores it, x [tokens, in], g the gradient of the output):
//   forward y = x W^T (transB), the weight gradient dW = g^T x (transA), the input gradient
//   dx = g W, for the four projections of a layer and the unembedding. The weights are graph
//   inputs, as the runner feeds them. ONNX Runtime's time is the Gemm kernel's own, from its
//   profiler (a session.run also copies a large output into JavaScript, which a graph does not);
//   PyTorch's is torch.mm into a pre-allocated output. Medians of BENCH_REPS after a warm-up.
// Usage: node bin/run-ts.js test/bench/gemm-kernels.ts [model]   (BENCH_PYTHON for PyTorch)

import { spawnSync } from 'node:child_process';
import * as ort from 'onnxruntime-node';
import { buildCatalogue } from '../../native-models/suites.ts';
import { GraphBuilder } from '../../native-models/graph/ir.ts';
import { serializeModel } from '../../native-models/graph/onnx.ts';
import { B, PYTHON, T, THREADS } from './common.ts';
import { profileRuns } from './ort-profile.ts';

const NAME = process.argv[2] ?? 'pythia-70m';
const TOKENS = B * T;
const REPS = Number(process.env.BENCH_REPS ?? 5);

const cfg = buildCatalogue().find(NAME)?.config;
if (!cfg) throw new Error(`unknown model ${NAME}`);
const d = cfg.hiddenSize;
const layers: [string, number, number][] = [
  ['qkv', 3 * d, d],
  ['dense', d, d],
  ['fc_in', cfg.intermediateSize, d],
  ['fc_out', d, cfg.intermediateSize],
  ['unembed', cfg.vocabSize, d],
];

type Kind = 'forward' | 'dW' | 'dx';
interface Product {
  name: string;
  kind: Kind;
  out: number;
  inn: number;
}
const products: Product[] = layers.flatMap(([name, out, inn]) =>
  (['forward', 'dW', 'dx'] as Kind[]).map((kind) => ({ name, kind, out, inn })),
);

/** [rows, cols] of the two operands and the result, and the Gemm's transposes. */
function shapes(p: Product): { a: number[]; b: number[]; y: number[]; transA: boolean; transB: boolean } {
  const N = TOKENS;
  if (p.kind === 'forward')
    return { a: [N, p.inn], b: [p.out, p.inn], y: [N, p.out], transA: false, transB: true };
  if (p.kind === 'dW')
    return { a: [N, p.out], b: [N, p.inn], y: [p.out, p.inn], transA: true, transB: false };
  return { a: [N, p.out], b: [p.out, p.inn], y: [N, p.inn], transA: false, transB: false };
}

function fill(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.sin(i * 0.7 + seed) * 0.05;
  return a;
}

async function ortMs(p: Product): Promise<number> {
  const s = shapes(p);
  const b = new GraphBuilder('gemm');
  const A = b.input('a', 'float32', s.a);
  const Bv = b.input('b', 'float32', s.b);
  b.output(b.gemm(A, Bv, null, { transA: s.transA, transB: s.transB }), 'y');
  const feeds = {
    a: new ort.Tensor('float32', fill(s.a[0] * s.a[1], 1), s.a),
    b: new ort.Tensor('float32', fill(s.b[0] * s.b[1], 2), s.b),
  };
  const events = await profileRuns(
    serializeModel(b.graph),
    { threads: THREADS, sleepingThreads: true }, // as the engine's sessions (session.ts)
    REPS + 1,
    (session) => session.run(feeds),
  );
  const times = events
    .filter((e) => e.cat === 'Node' && e.args?.op_name === 'Gemm' && e.name.endsWith('_kernel_time'))
    .slice(1) // the warm-up
    .map((e) => e.dur / 1000);
  return times.sort((x, z) => x - z)[Math.floor(times.length / 2)];
}

const TORCH = `
import json, sys, time, torch
torch.set_num_threads(int(sys.argv[1])); reps = int(sys.argv[2])
for p in json.loads(sys.argv[3]):
    a = torch.randn(*p["a"]) * 0.05; b = torch.randn(*p["b"]) * 0.05
    A = a.t() if p["transA"] else a; B = b.t() if p["transB"] else b
    y = torch.empty(A.shape[0], B.shape[1])
    ts = []
    for r in range(reps + 1):
        t0 = time.perf_counter(); torch.mm(A, B, out=y); dt = time.perf_counter() - t0
        if r: ts.append(dt)
    ts.sort(); print(json.dumps({"ms": ts[len(ts) // 2] * 1000}))
`;

function torchMs(): (number | null)[] {
  const r = spawnSync(
    PYTHON,
    ['-c', TORCH, String(THREADS), String(REPS), JSON.stringify(products.map(shapes))],
    { encoding: 'utf8', maxBuffer: 1 << 24 },
  );
  if (r.status !== 0) return products.map(() => null);
  return r.stdout
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { ms: number }).ms);
}

const torch = torchMs();
for (const [i, p] of products.entries()) {
  const ms = await ortMs(p);
  const flop = 2 * TOKENS * p.out * p.inn;
  const t = torch[i];
  process.stdout.write(
    `${JSON.stringify({
      case: 'gemm',
      model: NAME,
      product: `${p.name} ${p.kind}`,
      tokens: TOKENS,
      out: p.out,
      in: p.inn,
      ort_ms: ms,
      torch_ms: t,
      ratio: t ? ms / t : null,
      ort_gflops: flop / ms / 1e6,
      torch_gflops: t ? flop / t / 1e6 : null,
    })}\n`,
  );
}
