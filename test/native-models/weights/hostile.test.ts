// Hostile checkpoints re-run from the probe, each built here in a few bytes: a stride-0 view that
// would allocate gigabytes from one stored float, a huge shape, a zip bomb (a deflated entry that
// inflates past its declared size), an entry declaring more than the inflate cap, and NaN or
// infinite weights, which are refused at load naming the tensor and element.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AtlasError } from '../../../main/errors.ts';
import { memorySource } from '../../../native-models/weights/byte-source.ts';
import { loadStateDict } from '../../../native-models/weights/load.ts';
import { writeSafetensors } from '../../../native-models/weights/safetensors.ts';
import { readTorchBin } from '../../../native-models/weights/torch-bin.ts';
import { craftTorchBin, craftZip, statePickle, type CraftTensor } from './craft.ts';

const dir = mkdtempSync(join(tmpdir(), 'atlas-hostile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const t = (over: Partial<CraftTensor>): CraftTensor => ({
  name: 'w',
  key: '0',
  numel: 4,
  offset: 0,
  size: [2, 2],
  stride: [2, 1],
  ...over,
});

async function refusal(bytes: Uint8Array): Promise<string> {
  const before = process.memoryUsage().rss;
  const e = await readTorchBin(memorySource(bytes), { what: 'crafted.bin' }).then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(AtlasError);
  expect(process.memoryUsage().rss - before).toBeLessThan(256 * 2 ** 20);
  return (e as AtlasError).message;
}

describe('crafted .bin checkpoints', () => {
  it('reads the crafted baseline correctly (the crafting is sound)', async () => {
    const d = await readTorchBin(
      memorySource(craftTorchBin([t({ stride: [1, 2] })], { '0': Float32Array.of(1, 2, 3, 4) })),
    );
    expect(Array.from(d.get('w')!.data)).toEqual([1, 3, 2, 4]);
  });

  it('refuses a stride-0 view before allocating it', async () => {
    const bytes = craftTorchBin([t({ numel: 1, size: [32768, 32768], stride: [0, 0] })], {
      '0': Float32Array.of(1),
    });
    expect(bytes.byteLength).toBeLessThan(1024);
    expect(await refusal(bytes)).toMatch(/tensor 'w' has 1073741824 elements but its storage holds 1/);
  });

  it('refuses absurd shapes, too many dimensions and negative strides', async () => {
    const one = { '0': Float32Array.of(1) };
    expect(
      await refusal(craftTorchBin([t({ size: [2 ** 30, 2 ** 30, 2 ** 30], stride: [0, 0, 0] })], one)),
    ).toMatch(/absurd shape|elements/);
    expect(
      await refusal(craftTorchBin([t({ size: Array(9).fill(1), stride: Array(9).fill(1) })], one)),
    ).toMatch(/9 dimensions/);
    expect(await refusal(craftTorchBin([t({ stride: [-1, 1] })], { '0': new Float32Array(4) }))).toMatch(
      /negative/,
    );
  });

  it('stops inflating a zip bomb at its declared size', async () => {
    const big = new Float32Array(2 ** 21); // 8 MiB of zeros deflate to ~8 KB
    const bytes = craftTorchBin(
      [t({ numel: 4 })],
      { '0': big },
      { deflate: true, declaredSize: { '0': 16 } },
    );
    expect(await refusal(bytes)).toMatch(/inflates past its declared size of 16 bytes/);
  });

  it('refuses a data.pkl declaring more than the pickle cap before inflating it', async () => {
    const bytes = craftZip([
      { name: 'archive/data.pkl', data: statePickle([t({})]), deflate: true, declaredSize: 300 * 2 ** 20 },
      { name: 'archive/data/0', data: new Uint8Array(16) },
    ]);
    expect(await refusal(bytes)).toMatch(/data\.pkl of 314572800 bytes/);
  });

  it('refuses a compressed entry declaring more than the inflate cap', async () => {
    const bytes = craftTorchBin(
      [t({ numel: 4 })],
      { '0': new Float32Array(4) },
      {
        deflate: true,
        declaredSize: { '0': 2 ** 32 - 2 },
      },
    );
    expect(await refusal(bytes)).toMatch(/over the 1024 MiB limit/);
  });
});

describe('non-finite weights', () => {
  for (const [label, bad] of [
    ['NaN', NaN],
    ['+Infinity', Infinity],
    ['-Infinity', -Infinity],
  ] as const) {
    it(`refuses a checkpoint holding ${label}, naming the tensor and element`, async () => {
      const d = join(dir, label);
      mkdirSync(d);
      const data = new Float32Array(8);
      data[5] = bad;
      await writeSafetensors(
        join(d, 'model.safetensors'),
        new Map([
          ['gpt_neox.embed_in.weight', { dtype: 'F32' as const, shape: [2, 4], data: new Float32Array(8) }],
          ['gpt_neox.layers.0.mlp.dense_4h_to_h.weight', { dtype: 'F32' as const, shape: [2, 4], data }],
        ]),
      );
      await expect(loadStateDict(d)).rejects.toThrow(
        new RegExp(
          `tensor 'gpt_neox\\.layers\\.0\\.mlp\\.dense_4h_to_h\\.weight' holds ${label.replace('+', '')} at element \\[1, 1\\]`,
        ),
      );
    });
  }

  it('refuses NaN in a .bin checkpoint too', async () => {
    const d = join(dir, 'bin');
    mkdirSync(d);
    writeFileSync(
      join(d, 'pytorch_model.bin'),
      craftTorchBin([t({})], { '0': Float32Array.of(0, 0, 0, NaN) }),
    );
    await expect(loadStateDict(d)).rejects.toThrow(/tensor 'w' holds NaN at element \[1, 1\]/);
  });
});
