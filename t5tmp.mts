import { buildNeoxGraph } from './native-models/neox/forward.ts';
import type { TapSpec } from './native-models/neox/forward.ts';
import { randomNeoxWeights } from './native-models/neox/random.ts';
import { serializeModel } from './native-models/graph/onnx.ts';
import { batchFeeds, createSession } from './native-models/runtime/session.ts';
const cfg = { numLayers: 6, hiddenSize: 512, numHeads: 8, intermediateSize: 2048, vocabSize: 50304, rotaryPct: 0.25, rotaryBase: 10000, layerNormEps: 1e-5, useParallelResidual: true, maxPositions: 2048, hiddenAct: 'gelu' as const, attentionBias: true };
let t = performance.now();
const w = randomNeoxWeights(cfg, 0);
console.log('random weights', (performance.now()-t).toFixed(0),'ms');
const B=8, T=256;
const ids = BigInt64Array.from({length:B*T}, (_, i) => BigInt((i*7919)%50000));
const mask = new Float32Array(B*T).fill(1);
for (let b=0;b<B;b++) for (let t2=200+b*5; t2<T; t2++) mask[b*T+t2]=0;
const taps: TapSpec[] = ['resid_pre','attn_out','mlp_out','resid_post'].map(site=>({site: site as TapSpec['site'], reductions:[{kind:'token_sumsq'},{kind:'token_sumabs'},{kind:'token_absmax'},{kind:'feature_moments'}]}));
const mode = process.argv[2] ?? 'both';
const sessions: Record<string, Awaited<ReturnType<typeof createSession>>> = {};
for (const [name, tp] of [['plain', []], ['taps', taps]] as const) {
  t = performance.now();
  const built = buildNeoxGraph(cfg, w, { taps: [...tp], outputs: { logits: false, loss: true } });
  const bytes = serializeModel(built.graph);
  sessions[name] = await createSession(bytes, { device: 'cpu', threads: 2 });
  console.log(name, 'build+session', (performance.now()-t).toFixed(0), 'ms', built.outputs.length, 'outputs');
}
const feeds = batchFeeds(B,T,ids,mask,mask);
const res: Record<string, number[]> = { plain: [], taps: [] };
let lossP = 0, lossT = 0;
for (let rep=0; rep<4; rep++) for (const name of ['plain','taps']) {
  t = performance.now();
  const out = await sessions[name].session.run(feeds);
  res[name].push(performance.now()-t);
  if (name==='plain') lossP = out.loss_sum.data[0] as number; else lossT = out.loss_sum.data[0] as number;
}
console.log(res, 'median ratio', (res.taps.sort()[1]+res.taps[2])/(res.plain.sort()[1]+res.plain[2]), lossP === lossT, lossP, lossT);
