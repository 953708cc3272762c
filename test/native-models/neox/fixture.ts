// Test helper: load a PyTorch reference fixture (test/fixtures/data/<name>/, made by
// test/fixtures/make_fixtures.py) and run the native graph on its batch.

import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseNeoxConfig } from '../../../native-models/neox/config-parse.ts';
import type { NeoxConfig } from '../../../native-models/neox/config.ts';
import { fileSource, withSource } from '../../../native-models/weights/byte-source.ts';
import { loadStateDict } from '../../../native-models/weights/load.ts';
import { readSafetensors } from '../../../native-models/weights/safetensors.ts';
import type { StateDict, Tensor } from '../../../native-models/weights/types.ts';

export const FIXTURES_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../fixtures/data');

export interface Fixture {
  name: string;
  dir: string;
  config: NeoxConfig;
  configJson: Record<string, unknown>;
  weights: StateDict;
  expected: StateDict;
  manifest: {
    batch: { B: number; T: number; lengths: number[]; input_ids: number[][]; attention_mask: number[][] };
    loss: { mean: number; sum: number; n_targets: number };
    parameter_names: string[];
  };
  B: number;
  T: number;
  inputIds: BigInt64Array;
  attentionMask: Float32Array;
  /** 1 at (b, t) when t and t+1 are both real tokens. */
  lossMask: Float32Array;
}

export async function loadFixture(name: string): Promise<Fixture> {
  const dir = join(FIXTURES_DIR, name);
  const configJson = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  const manifest = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Fixture['manifest'];
  const { dict: weights } = await loadStateDict(dir);
  const expected = await withSource(fileSource(join(dir, 'expected.safetensors')), (src) =>
    readSafetensors(src),
  );
  const { B, T } = manifest.batch;
  const inputIds = BigInt64Array.from(manifest.batch.input_ids.flat(), (x) => BigInt(x));
  const attentionMask = Float32Array.from(manifest.batch.attention_mask.flat());
  const lossMask = new Float32Array(B * T);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t + 1 < T; t++)
      lossMask[b * T + t] = attentionMask[b * T + t] * attentionMask[b * T + t + 1];
  }
  return {
    name,
    dir,
    config: parseNeoxConfig(configJson),
    configJson,
    weights,
    expected,
    manifest,
    B,
    T,
    inputIds,
    attentionMask,
    lossMask,
  };
}

export function tensor(dict: StateDict, name: string): Tensor {
  const t = dict.get(name);
  if (!t) throw new Error(`fixture has no tensor '${name}'`);
  return t;
}

/**
 * Largest |a - b| over entries whose (batch, query-position) is real. Both arrays are row-major with
 * shape `shape`; `bAxis` and `tAxis` say where batch and (query) position sit.
 */
export function maxAbsDiffReal(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  shape: readonly number[],
  mask: Float32Array,
  T: number,
  bAxis = 0,
  tAxis = 1,
): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((x, y) => x * y, 1));
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const bi = Math.floor(i / strides[bAxis]) % shape[bAxis];
    const ti = Math.floor(i / strides[tAxis]) % shape[tAxis];
    if (mask[bi * T + ti] === 0) continue;
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= worst)) worst = Number.isNaN(d) ? Infinity : d;
  }
  return worst;
}
