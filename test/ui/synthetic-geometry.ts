// A synthetic project of `geometry` runs over checkpoints, written with the library API: for one
// model (3 layers) at steps 0, 1000 and 2000, planted representations X [S, F] of a shared 24-token
// sample per layer (seeded), stored as the analysis stores them (centred Grams, layers, sample
// triples, the layer x layer CKA, effective-rank rows), so a spec can check that the checkpoint x
// checkpoint CKA the UI shows equals linear CKA computed here in feature space from the planted X
// (Kornblith et al. 2019, a different route from the Grams the app reads).

import { Project } from '../../main/library/project.ts';
import type { MetricRow, TensorRow } from '../../main/library/rows.ts';
import { centredGram, ckaMatrix } from '../../main/stats/cka.ts';

export const GEO_MODEL = 'pythia-14m';
export const GEO_LAYERS = 3;
export const GEO_STEPS = [0, 1000, 2000];
const S = 24;
const F = 6;

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The planted X [S, F] of a layer at a step: a shared base plus a step- and layer-dependent drift. */
export function plantedRepresentation(step: number, layer: number): Float64Array {
  const base = rng(layer + 1);
  const drift = rng(1000 + step * 7 + layer);
  const scale = step / 1000;
  return Float64Array.from({ length: S * F }, () => base() - 0.5 + scale * (drift() - 0.5));
}

/** The planted effective rank of a layer at a step. */
export const plantedRank = (step: number, layer: number): number => 2 + layer + step / 1000;

/** Linear CKA in feature space: ||Y^T X||_F^2 / (||X^T X||_F ||Y^T Y||_F), columns centred. */
export function featureCka(x: Float64Array, y: Float64Array): number {
  const centre = (m: Float64Array) => {
    const out = Float64Array.from(m);
    for (let j = 0; j < F; j++) {
      let mu = 0;
      for (let s = 0; s < S; s++) mu += m[s * F + j] / S;
      for (let s = 0; s < S; s++) out[s * F + j] -= mu;
    }
    return out;
  };
  const a = centre(x);
  const b = centre(y);
  const cross = (p: Float64Array, q: Float64Array) => {
    let total = 0;
    for (let i = 0; i < F; i++)
      for (let j = 0; j < F; j++) {
        let v = 0;
        for (let s = 0; s < S; s++) v += p[s * F + i] * q[s * F + j];
        total += v * v;
      }
    return total;
  };
  return cross(b, a) / Math.sqrt(cross(a, a) * cross(b, b));
}

/** Writes the project; returns the run id of each step. */
export function writeGeometryProject(path: string): Map<number, number> {
  const p = Project.create(path);
  const ids = new Map<number, number>();
  try {
    const datasetId = p.addDataset({
      name: 'synthetic.txt',
      kind: 'text',
      source: 'synthetic',
      sha256: '0'.repeat(64),
      records: [{ text: 'planted' }],
    });
    for (const step of GEO_STEPS) {
      const runId = p.beginRun({
        model: GEO_MODEL,
        revision: `step${step}`,
        step,
        datasetId,
        analyses: ['geometry'],
        seqLen: 64,
        prependBos: false,
        dtype: 'float32',
        config: { synthetic: 'geometry', step },
      });
      const grams = Array.from({ length: GEO_LAYERS }, (_, l) =>
        centredGram(plantedRepresentation(step, l), S, F),
      );
      const gram = new Float32Array(GEO_LAYERS * S * S);
      grams.forEach((g, l) => gram.set(g, l * S * S));
      const sample = new Int32Array(S * 3);
      for (let i = 0; i < S; i++) sample.set([i % 4, 1 + i, 100 + i], i * 3);
      const tensors: TensorRow[] = [
        { name: 'geometry/gram/resid_post', shape: [GEO_LAYERS, S, S], data: gram },
        { name: 'geometry/layers/resid_post', shape: [GEO_LAYERS], data: Int32Array.from([0, 1, 2]) },
        { name: 'geometry/cka/resid_post', shape: [GEO_LAYERS, GEO_LAYERS], data: ckaMatrix(grams, grams) },
        { name: 'geometry/sample', shape: [S, 3], data: sample },
      ];
      const metrics: MetricRow[] = [
        {
          analysis: 'geometry',
          metric: 'num_layers',
          site: null,
          layer: null,
          head: null,
          position: null,
          dim: null,
          value: GEO_LAYERS,
        },
        ...Array.from({ length: GEO_LAYERS }, (_, layer) => ({
          analysis: 'geometry',
          metric: 'effective_rank',
          site: 'resid_post',
          layer,
          head: null,
          position: null,
          dim: null,
          value: plantedRank(step, layer),
        })),
      ];
      p.writeResults(runId, { metrics, tensors }, { complete: true, nSequences: 4, nTokens: 64 });
      ids.set(step, runId);
    }
  } finally {
    p.close();
  }
  return ids;
}
