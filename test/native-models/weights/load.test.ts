// loadStateDict picks the right files in a checkpoint directory (single or sharded, safetensors
// or .bin), drops non-parameter buffers, agrees across formats (the tiny GPT-NeoX fixture saved
// both ways by transformers), and fails clearly on missing or inconsistent files.

import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AtlasError } from '../../../main/errors.ts';
import { weightsFingerprint } from '../../../native-models/weights/fingerprint.ts';
import {
  findWeightFiles,
  isNonParameterKey,
  loadStateDict,
  loadStateDictFromFiles,
} from '../../../native-models/weights/load.ts';
import { expectMatchesReference, expectSameDict, FIXTURES, loadReference, TINY_NEOX } from './helpers.ts';

const sharded = loadReference('sharded.json');
const tmp = mkdtempSync(join(tmpdir(), 'atlas-load-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A fresh directory holding copies of `files` from `from`. */
function copyDir(name: string, from: string, files: string[]): string {
  const d = join(tmp, name);
  mkdirSync(d);
  for (const f of files) copyFileSync(join(from, f), join(d, f));
  return d;
}

describe('loadStateDict', () => {
  it('loads sharded .bin through its index, dropping non-parameter buffers', async () => {
    const r = await loadStateDict(join(FIXTURES, 'sharded-bin'));
    expect(r.format).toBe('bin');
    expect(r.files.map((f) => f.split('/').pop())).toEqual([
      'pytorch_model-00001-of-00002.bin',
      'pytorch_model-00002-of-00002.bin',
    ]);
    expectMatchesReference(r.dict, sharded);
    expect(weightsFingerprint(r.dict)).toBe(sharded.fingerprint);
  });

  it('loads sharded safetensors through its index to the same values', async () => {
    const r = await loadStateDict(join(FIXTURES, 'sharded-safetensors'));
    expect(r.format).toBe('safetensors');
    expectMatchesReference(r.dict, sharded);
  });

  it('loads a complete shard set that has no index', async () => {
    const src = join(FIXTURES, 'sharded-bin');
    const d = copyDir(
      'noindex',
      src,
      readdirSync(src).filter((f) => f.endsWith('.bin')),
    );
    expectMatchesReference((await loadStateDict(d)).dict, sharded);
  });

  it('applies a filter', async () => {
    const r = await loadStateDict(join(FIXTURES, 'sharded-bin'), { filter: (n) => n.includes('layers.1.') });
    expect([...r.dict.keys()].sort()).toEqual(
      Object.keys(sharded.tensors)
        .filter((n) => n.includes('layers.1.'))
        .sort(),
    );
  });

  it('reads the tiny GPT-NeoX checkpoint identically from model.safetensors, pytorch_model.bin and shards', async () => {
    const st = await loadStateDict(TINY_NEOX);
    expect(st.format).toBe('safetensors');
    expect(st.dict.size).toBeGreaterThan(10);
    const bin = await loadStateDictFromFiles([join(TINY_NEOX, 'pytorch_model.bin')]);
    expect(bin.format).toBe('bin');
    expectSameDict(bin.dict, st.dict);
    const shards = await loadStateDict(join(TINY_NEOX, 'sharded-bin'));
    expectSameDict(shards.dict, st.dict);
    expect(weightsFingerprint(bin.dict)).toBe(weightsFingerprint(st.dict));
  });

  it('prefers safetensors when both formats are present', async () => {
    const d = copyDir('both', TINY_NEOX, ['model.safetensors', 'pytorch_model.bin']);
    expect((await findWeightFiles(d)).format).toBe('safetensors');
    rmSync(join(d, 'model.safetensors'));
    expect(await findWeightFiles(d)).toEqual({ format: 'bin', files: [join(d, 'pytorch_model.bin')] });
  });
});

describe('errors', () => {
  it('names a missing directory, and a directory without weights', async () => {
    await expect(loadStateDict(join(tmp, 'nowhere'))).rejects.toThrow(
      /checkpoint directory not found: .*nowhere/,
    );
    const empty = join(tmp, 'empty');
    mkdirSync(empty);
    const p = loadStateDict(empty);
    await expect(p).rejects.toThrow(AtlasError);
    await expect(p).rejects.toThrow(/no weights found in .*empty/);
    await expect(loadStateDict(join(FIXTURES, 'state_dict.json'))).rejects.toThrow(/not a directory/);
  });

  it('names a shard the index lists but the directory lacks', async () => {
    const src = join(FIXTURES, 'sharded-bin');
    const d = copyDir('missing-shard', src, [
      'pytorch_model.bin.index.json',
      'pytorch_model-00001-of-00002.bin',
    ]);
    await expect(loadStateDict(d)).rejects.toThrow(
      /weight file not found: .*pytorch_model-00002-of-00002\.bin/,
    );
  });

  it('notices an index that lists a tensor no shard holds', async () => {
    const src = join(FIXTURES, 'sharded-safetensors');
    const d = copyDir('bad-index', src, readdirSync(src));
    writeFileSync(
      join(d, 'model.safetensors.index.json'),
      JSON.stringify({
        weight_map: {
          'gpt_neox.ghost.weight': 'model-00001-of-00002.safetensors',
          'x.weight': 'model-00002-of-00002.safetensors',
        },
      }),
    );
    await expect(loadStateDict(d)).rejects.toThrow(/lists 'gpt_neox\.ghost\.weight'/);
  });

  it('refuses index entries that point outside the directory and malformed indexes', async () => {
    const d = join(tmp, 'escape');
    mkdirSync(d);
    writeFileSync(join(d, 'pytorch_model.bin.index.json'), JSON.stringify({ weight_map: { a: '../x.bin' } }));
    await expect(loadStateDict(d)).rejects.toThrow(/invalid file name "\.\.\/x\.bin"/);
    writeFileSync(join(d, 'pytorch_model.bin.index.json'), '{');
    await expect(loadStateDict(d)).rejects.toThrow(/is not valid JSON/);
  });

  it('refuses tensors duplicated across shards', async () => {
    await expect(
      loadStateDictFromFiles([join(TINY_NEOX, 'model.safetensors'), join(TINY_NEOX, 'model.safetensors')]),
    ).rejects.toThrow(/appears in more than one shard/);
  });
});

describe('loadStateDictFromFiles', () => {
  it('loads explicit shards with their index', async () => {
    const d = join(FIXTURES, 'sharded-safetensors');
    const r = await loadStateDictFromFiles(readdirSync(d).map((f) => join(d, f)));
    expectMatchesReference(r.dict, sharded);
    expect(r.files.every((f) => f.endsWith('.safetensors'))).toBe(true);
  });

  it('refuses mixed formats, unknown extensions and incomplete shard lists', async () => {
    await expect(
      loadStateDictFromFiles([join(TINY_NEOX, 'model.safetensors'), join(TINY_NEOX, 'pytorch_model.bin')]),
    ).rejects.toThrow(/cannot mix/);
    await expect(loadStateDictFromFiles([join(TINY_NEOX, 'config.json')])).rejects.toThrow(
      /cannot tell the format/,
    );
    const d = join(FIXTURES, 'sharded-bin');
    await expect(
      loadStateDictFromFiles([
        join(d, 'pytorch_model.bin.index.json'),
        join(d, 'pytorch_model-00001-of-00002.bin'),
      ]),
    ).rejects.toThrow(/pytorch_model-00002-of-00002\.bin is listed in .* but was not given/);
    await expect(loadStateDictFromFiles([])).rejects.toThrow(/no weight files given/);
  });
});

describe('isNonParameterKey', () => {
  it('matches whole dotted suffixes only', () => {
    expect(isNonParameterKey('gpt_neox.layers.0.attention.bias')).toBe(true);
    expect(isNonParameterKey('gpt_neox.layers.3.attention.masked_bias')).toBe(true);
    expect(isNonParameterKey('gpt_neox.layers.0.attention.rotary_emb.inv_freq')).toBe(true);
    expect(isNonParameterKey('gpt_neox.layers.0.attention.dense.bias')).toBe(false);
    expect(isNonParameterKey('gpt_neox.layers.0.attention.query_key_value.bias')).toBe(false);
    expect(isNonParameterKey('gpt_neox.layers.0.selfattention.bias')).toBe(false);
  });
});
