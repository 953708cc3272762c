// The non-finite finder names the first NaN or infinity in a run's results by analysis, metric,
// site and layer (or tensor element), lets allowed rows through, and guardFinite makes a
// writeResults transaction roll back so the run is not marked complete.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  firstNonFinite,
  guardFinite,
  nonFiniteError,
  nonFiniteLoss,
} from '../../../main/library/finite-check.ts';
import { Project } from '../../../main/library/project.ts';
import type { MetricRow } from '../../../main/library/rows.ts';

const dir = mkdtempSync(join(tmpdir(), 'atlas-finite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const row = (value: number, over: Partial<MetricRow> = {}): MetricRow => ({
  analysis: 'profile',
  metric: 'rms',
  site: 'mlp_out',
  layer: 3,
  head: null,
  position: null,
  dim: null,
  value,
  ...over,
});

describe('finite check', () => {
  it('names the first non-finite metric by analysis, metric, site and layer', () => {
    const found = firstNonFinite({ metrics: [row(1), row(NaN, { layer: 4 }), row(Infinity)] });
    expect(found).toEqual({ where: 'profile/rms at mlp_out layer 4', value: NaN });
    expect(nonFiniteError(found!).message).toMatch(/produced NaN first in profile\/rms at mlp_out layer 4/);
  });

  it('finds tensors and massive entries, skips integer tensors and allowed rows', () => {
    expect(
      firstNonFinite({
        tensors: [
          { name: 'ints', shape: [2], data: Int32Array.of(1, 2) },
          { name: 'grads/g/attn_out', shape: [3], data: Float32Array.of(0, -Infinity, 1) },
        ],
      }),
    ).toEqual({ where: 'tensor grads/g/attn_out element 1', value: -Infinity });
    expect(
      firstNonFinite(
        { metrics: [row(NaN, { metric: 'undefined_here' })] },
        (r) => r.metric === 'undefined_here',
      ),
    ).toBeNull();
    expect(nonFiniteLoss([2.5, 2.4, NaN])).toEqual({ where: 'the loss of batch 3', value: NaN });
    expect(nonFiniteLoss([2.5])).toBeNull();
  });

  it('rolls back the transaction that would have completed the run', () => {
    const p = Project.create(join(dir, 'p.pythia-atlas'));
    const id = p.beginRun({
      model: 'm',
      revision: null,
      step: null,
      datasetId: null,
      analyses: ['profile'],
      config: { a: 1 },
      seqLen: 8,
      dtype: 'float32',
      prependBos: false,
    });
    expect(() =>
      p.writeResults(id, guardFinite({ metrics: [row(1), row(NaN)] }), { complete: true }),
    ).toThrow(/produced NaN first in profile\/rms at mlp_out layer 3/);
    expect(p.run(id)?.status).toBe('running');
    expect(p.metrics({ includeIncomplete: true })).toEqual([]);
    p.close();
  });
});
