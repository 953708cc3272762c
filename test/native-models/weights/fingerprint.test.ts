// weightsFingerprint equals the digest make_weights_fixtures.py computes in Python from the
// documented definition, is the same whichever file format the weights came from, ignores Map
// order and NaN payloads, and changes when any name, shape or value changes.

import { describe, expect, it } from 'vitest';
import { fileSource, withSource } from '../../../native-models/weights/byte-source.ts';
import { weightsFingerprint } from '../../../native-models/weights/fingerprint.ts';
import { readSafetensors } from '../../../native-models/weights/safetensors.ts';
import { readTorchBin } from '../../../native-models/weights/torch-bin.ts';
import type { StateDict } from '../../../native-models/weights/types.ts';
import { fixture, loadReference } from './helpers.ts';

const ref = loadReference('state_dict.json');

function clone(d: StateDict): StateDict {
  return new Map([...d].map(([k, t]) => [k, { shape: t.shape.slice(), data: t.data.slice() }]));
}

describe('weightsFingerprint', () => {
  it('equals the Python reference for .bin, fp32 safetensors and mixed-dtype safetensors', async () => {
    const bin = await withSource(fileSource(fixture('state_dict.bin')), (s) => readTorchBin(s));
    const f32 = await withSource(fileSource(fixture('state_dict_fp32.safetensors')), (s) =>
      readSafetensors(s),
    );
    const mixed = await withSource(fileSource(fixture('state_dict_mixed.safetensors')), (s) =>
      readSafetensors(s),
    );
    expect(weightsFingerprint(bin)).toBe(ref.fingerprint);
    expect(weightsFingerprint(f32)).toBe(ref.fingerprint);
    expect(weightsFingerprint(mixed)).toBe(ref.fingerprint);
  });

  it('is stable under insertion order and changes with any name, shape or value', () => {
    const d: StateDict = new Map([
      ['b', { shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) }],
      ['a', { shape: [3], data: new Float32Array([0.5, -0, 7]) }],
    ]);
    const fp = weightsFingerprint(d);
    expect(fp).toMatch(/^[0-9a-f]{64}$/);
    expect(weightsFingerprint(new Map([...d].reverse()))).toBe(fp);

    const oneUlp = clone(d);
    const bits = new Uint32Array(oneUlp.get('b')!.data.buffer);
    bits[3] += 1;
    expect(weightsFingerprint(oneUlp)).not.toBe(fp);

    const reshaped = clone(d);
    reshaped.get('b')!.shape = [4];
    expect(weightsFingerprint(reshaped)).not.toBe(fp);

    const renamed = clone(d);
    renamed.set('c', renamed.get('b')!);
    renamed.delete('b');
    expect(weightsFingerprint(renamed)).not.toBe(fp);

    const signed = clone(d);
    signed.get('a')!.data[1] = 0;
    expect(weightsFingerprint(signed)).not.toBe(fp);
  });

  it('treats every NaN alike', () => {
    const withNaN = (bits: number): StateDict => {
      const data = new Float32Array(3);
      new Uint32Array(data.buffer).set([0x3f800000, bits, 0x40000000]);
      return new Map([['w', { shape: [3], data }]]);
    };
    const fp = weightsFingerprint(withNaN(0x7fc00000));
    expect(weightsFingerprint(withNaN(0x7f800001))).toBe(fp);
    expect(weightsFingerprint(withNaN(0xffc00123))).toBe(fp);
    expect(weightsFingerprint(withNaN(0x7f800000))).not.toBe(fp);
  });
});
