// "The mean of all the datasets" as a store of its own: several `means` runs of one model,
// revision, weights and tokenizer combined from their stored per-position sums and counts
// (combine.ts; token-weighted = a store over the union of the data, dataset-weighted = the mean
// of the datasets' means), written as a complete `means` run in one transaction, so it can be
// subtracted, ablated with, exported and listed like any store. DTW-aligned bucket means do not
// combine from sums (DBA is not linear), so a combined store has none.

import { AtlasError } from '../errors.ts';
import { metricRow } from '../library/metric-row.ts';
import type { Project } from '../library/project.ts';
import type { MetricRow, TensorRow } from '../library/rows.ts';
import { combineMeans } from './combine.ts';
import { checkStoreFits, loadMeanStore } from './store.ts';

export function combineStoreRuns(
  project: Project,
  runIds: readonly number[],
  weighting: 'tokens' | 'datasets',
  name?: string,
): number {
  if (runIds.length < 2) throw new AtlasError('Combining needs at least two mean stores (--runs A,B).');
  const stores = runIds.map((id) => loadMeanStore(project, id));
  for (const s of stores.slice(1)) checkStoreFits(s, stores[0].identity);
  const bos = runIds.map((id) => project.run(id)!.prependBos);
  if (bos.some((b) => b !== bos[0]))
    throw new AtlasError(
      'The mean stores differ in --prepend-bos, so their positions do not line up; combine stores of one setting.',
    );
  const sites = Object.keys(stores[0].sites).sort();
  for (const s of stores) {
    if (Object.keys(s.sites).sort().join() !== sites.join())
      throw new AtlasError(
        `The mean stores cover different sites (run ${stores[0].runId}: ${sites.join(', ')}; run ${s.runId}: ${Object.keys(s.sites).sort().join(', ')}).`,
      );
  }
  const combined = combineMeans(
    stores.map((s) => ({
      count: s.count,
      sums: Object.fromEntries(
        sites.map((site) => [
          site,
          { data: s.sites[site].sum, layers: s.sites[site].layers, features: s.sites[site].features },
        ]),
      ),
    })),
    weighting,
  );
  const T = combined.count.length;
  const tokens = combined.count.reduce((a, c) => a + c, 0);
  const metrics: MetricRow[] = [metricRow('means', 'tokens', null, null, tokens)];
  const tensors: TensorRow[] = [{ name: 'means/count', shape: [T], data: combined.count }];
  for (const site of sites) {
    const { layers: L, features: F } = stores[0].sites[site];
    const position = combined.position[site];
    const sum = new Float64Array(L * T * F); // [L', T, F]: position mean x count, so this store combines again
    for (let l = 0; l < L; l++)
      for (let t = 0; t < T; t++)
        for (let f = 0; f < F; f++) {
          const i = (l * T + t) * F + f;
          sum[i] = combined.count[t] > 0 ? position[i] * combined.count[t] : 0;
        }
    tensors.push({ name: `means/sum/${site}`, shape: [L, T, F], data: sum });
    tensors.push({ name: `means/position/${site}`, shape: [L, T, F], data: position });
    tensors.push({ name: `means/global/${site}`, shape: [L, F], data: combined.global[site] });
    for (let l = 0; l < L; l++) {
      let sq = 0;
      for (let f = 0; f < F; f++) sq += combined.global[site][l * F + f] ** 2;
      metrics.push(metricRow('means', 'mean_norm', site, site === 'embed' ? null : l, Math.sqrt(sq)));
    }
  }
  const first = project.run(stores[0].runId)!;
  return project.database.transaction(() => {
    const runId = project.beginRun({
      model: first.model,
      revision: first.revision,
      step: first.step,
      datasetId: null,
      analyses: ['means'],
      seqLen: Math.max(...runIds.map((id) => project.run(id)!.seqLen)),
      prependBos: first.prependBos,
      dtype: 'float32',
      weightsFingerprint: first.weightsFingerprint,
      config: {
        combined: { runs: [...runIds], weighting },
        name: name ?? null,
        tokenizerSha256: stores[0].identity.tokenizer,
      },
    });
    project.writeResults(runId, { metrics, tensors }, { complete: true, nTokens: tokens });
    return runId;
  })();
}
