// Tests for choosing a revision's checkpoint files: layout priority, incomplete shard sets, the
// optional tokenizer, and shard-index validation.
import { describe, expect, it } from 'vitest';
import { AtlasError } from '../../../main/errors.ts';
import { checkShardIndex, planCheckpoint } from '../../../native-models/hub/formats.ts';

describe('planCheckpoint', () => {
  it('prefers model.safetensors over pytorch_model.bin', () => {
    const p = planCheckpoint([
      'README.md',
      'config.json',
      'pytorch_model.bin',
      'model.safetensors',
      'tokenizer.json',
    ]);
    expect(p).toEqual({
      format: 'safetensors',
      weightFiles: ['model.safetensors'],
      indexFile: null,
      files: ['config.json', 'tokenizer.json', 'model.safetensors'],
    });
  });

  it('takes sharded safetensors in shard order with their index', () => {
    const p = planCheckpoint([
      'config.json',
      'model-00002-of-00002.safetensors',
      'model.safetensors.index.json',
      'model-00001-of-00002.safetensors',
      'pytorch_model.bin',
    ]);
    expect(p?.format).toBe('safetensors-sharded');
    expect(p?.weightFiles).toEqual(['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
    expect(p?.files).toEqual(['config.json', 'model.safetensors.index.json', ...(p?.weightFiles ?? [])]);
  });

  it('falls back to pytorch_model.bin, then to sharded .bin (the 12b layout)', () => {
    expect(planCheckpoint(['config.json', 'pytorch_model.bin'])?.format).toBe('pytorch');
    const shards = [1, 2, 3].map((i) => `pytorch_model-0000${i}-of-00003.bin`);
    const p = planCheckpoint(['config.json', 'pytorch_model.bin.index.json', ...shards.reverse()]);
    expect(p?.format).toBe('pytorch-sharded');
    expect(p?.weightFiles).toEqual([...shards].sort());
    expect(p?.indexFile).toBe('pytorch_model.bin.index.json');
  });

  it('skips an incomplete shard set and needs config.json', () => {
    expect(
      planCheckpoint([
        'config.json',
        'model.safetensors.index.json',
        'model-00001-of-00003.safetensors',
        'model-00003-of-00003.safetensors',
      ]),
    ).toBeNull();
    expect(planCheckpoint(['config.json', 'model-00001-of-00001.safetensors'])).toBeNull(); // no index
    expect(planCheckpoint(['model.safetensors'])).toBeNull();
    const p = planCheckpoint([
      'config.json',
      'model.safetensors.index.json',
      'model-00001-of-00002.safetensors',
      'pytorch_model.bin',
    ]);
    expect(p?.format).toBe('pytorch');
  });
});

describe('checkShardIndex', () => {
  const plan = planCheckpoint([
    'config.json',
    'model.safetensors.index.json',
    'model-00001-of-00002.safetensors',
    'model-00002-of-00002.safetensors',
  ]);
  if (!plan) throw new Error('plan expected');

  it('accepts an index naming only planned shards', () => {
    const idx = {
      metadata: {},
      weight_map: { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors' },
    };
    expect(() => checkShardIndex(JSON.stringify(idx), plan, 'x')).not.toThrow();
  });

  it('refuses an index naming another file, or no weight_map, or bad JSON', () => {
    const idx = { weight_map: { a: 'model-00003-of-00003.safetensors' } };
    expect(() => checkShardIndex(JSON.stringify(idx), plan, 'x')).toThrow(AtlasError);
    expect(() => checkShardIndex('{}', plan, 'x')).toThrow(/no weight_map/);
    expect(() => checkShardIndex('{', plan, 'x')).toThrow(/not valid JSON/);
  });
});
