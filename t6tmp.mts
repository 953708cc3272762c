import { buildNeoxGraph } from './native-models/neox/forward.ts';
import type { TapSpec } from './native-models/neox/forward.ts';
import { randomNeoxWeights } from './native-models/neox/random.ts';
import { serializeModel } from './native-models/graph/onnx.ts';
import { batchFeeds } from './native-models/runtime/session.ts';
import * as ort from 'onnxruntime-node';
import { readFileSync, readdirSync, unlinkSync } from 'node:fs';
const cfg = { numLayers: 6, hiddenSize: 512, numHeads: 8, intermediateSize: 2048, vocabSize: 50304, rotaryPct: 0.25, rotaryBase: 10000, layerNormEps: 1e-5, useParallelResidual: true, maxPositions: 2048, hiddenAct: 'gelu' as const, attentionBias: true };
const w = randomNeoxWeights(cfg, 0);
const B=8, T=256;
const ids = BigInt64Array.from({length:B*T}, (_, i) => BigInt((i*7919)%50000));
const mask = new Float32Array(B*T).fill(1);
const taps: TapSpec[] = ['resid_pre','attn_out','mlp_out','resid_post'].map(site=>({site: site as TapSpec['site'], reductions:[{kind:'token_sumsq'},{kind:'token_sumabs'},{kind:'token_absmax'},{kind:'feature_moments'}]}));
for (const [name, tp] of [['plain', []], ['taps', taps]] as const) {
  const built = buildNeoxGraph(cfg, w, { taps: [...tp], outputs: { logits: false, loss: true } });
  const s = await ort.InferenceSession.create(serializeModel(built.graph), { executionProviders:['cpu'], intraOpNumThreads: 1, graphOptimizationLevel: 'all', enableProfiling: true, profileFilePrefix: '/tmp/prof_'+name });
  await s.run(batchFeeds(B,T,ids,mask,mask));
  s.endProfiling();
  await s.release();
}
for (const f of readdirSync('/tmp').filter(f=>f.startsWith('prof_'))) {
  const ev = JSON.parse(readFileSync('/tmp/'+f,'utf8')) as {cat:string,name:string,dur:number,args:{op_name?:string}}[];
  const by: Record<string, number> = {}; let tot=0;
  for (const e of ev) if (e.cat==='Node' && e.name.endsWith('_kernel_time')) { const k=e.args.op_name??'?'; by[k]=(by[k]??0)+e.dur; tot+=e.dur; }
  console.log(f, 'total ms', (tot/1000).toFixed(1));
  console.log(Object.entries(by).sort((a,b)=>b[1]-a[1]).map(([k,v])=>`${k}:${(v/1000).toFixed(1)}`).join(' '));
  unlinkSync('/tmp/'+f);
}
