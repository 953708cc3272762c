// Malformed mean store files are refused with one sentence naming the fault, before anything is
// written: a truncated file, a broken header, missing or unknown tensors, shapes that disagree with
// each other or with the metadata, non-finite values, counts that do not add up, missing or wrong
// `format` metadata, dtypes the store does not use.

import { readFileSync, rmSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AtlasError } from '../../../main/errors.ts';
import { exportMeanStore } from '../../../main/means/export.ts';
import { readMeanStoreFile } from '../../../main/means/import.ts';
import { writeSafetensors, type WritableTensor } from '../../../native-models/weights/safetensors.ts';
import { buildStore, readStoreFile, tamper } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'atlas-means-bad-'));
const good = join(dir, 'good.safetensors');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeAll(async () => {
  const { project, runId } = await buildStore(join(dir, 'p.pythia-atlas'));
  await exportMeanStore(project, runId, good);
  project.close();
});

let n = 0;
async function refused(
  edit: (t: Map<string, WritableTensor>, m: Record<string, string>) => void,
  pattern: RegExp,
): Promise<void> {
  const file = await tamper(good, join(dir, `bad-${n++}.safetensors`), edit);
  const e = await readMeanStoreFile(file).then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(AtlasError);
  expect((e as AtlasError).message).toMatch(pattern);
}

const f32 = (t: Map<string, WritableTensor>, name: string) => t.get(name)!.data as Float32Array;

describe('malformed mean store files', () => {
  it('reads the good file', async () => {
    const c = await readMeanStoreFile(good);
    expect(c.metadata.tokens).toBe(225);
    expect(c.warnings).toEqual([]);
  });

  it('refuses a truncated file and a broken header', async () => {
    const bytes = readFileSync(good);
    const cut = join(dir, 'cut.safetensors');
    writeFileSync(cut, bytes.subarray(0, bytes.length - 7));
    await expect(readMeanStoreFile(cut)).rejects.toThrow(/not a valid safetensors file: .*truncated/);
    const head = join(dir, 'head.safetensors');
    writeFileSync(head, Buffer.concat([bytes.subarray(0, 8), Buffer.from('{"oops": '), bytes.subarray(17)]));
    await expect(readMeanStoreFile(head)).rejects.toThrow(
      /not a valid safetensors file: its header is not UTF-8 JSON/,
    );
    const tiny = join(dir, 'tiny.safetensors');
    writeFileSync(tiny, Buffer.from([1, 2, 3]));
    await expect(readMeanStoreFile(tiny)).rejects.toThrow(/only 3 bytes long/);
    await expect(readMeanStoreFile(join(dir, 'absent.safetensors'))).rejects.toThrow(/does not exist/);
  });

  it('refuses missing or wrong format metadata', async () => {
    const bare = join(dir, 'bare.safetensors');
    const { tensors } = await readStoreFile(good);
    await writeSafetensors(bare, tensors);
    await expect(readMeanStoreFile(bare)).rejects.toThrow(/has no __metadata__/);
    await refused((_, m) => delete m.format, /has no 'format'/);
    await refused((_, m) => (m.format = 'pythia-atlas-means/2'), /format is 'pythia-atlas-means\/2'/);
    await refused((_, m) => delete m.model, /metadata has no 'model'/);
    await refused((_, m) => (m.hidden_size = 'wide'), /'hidden_size' is 'wide'/);
    await refused((_, m) => (m.bucket_edges = '[25, 69]'), /2 bucket edges but 3 bucket sizes/);
    await refused((_, m) => (m.bucket_edges = '[25, 20, 69]'), /not ascending/);
    await refused((_, m) => (m.sites = '["resid_post", "logits"]'), /'sites' is not a list of/);
  });

  it('refuses missing, unknown and misplaced tensors', async () => {
    await refused((t) => t.delete('resid_post.1.position'), /has no tensor 'resid_post.1.position'/);
    await refused((t) => t.delete('embed.0.position_count'), /has no tensor 'embed.0.position_count'/);
    await refused((t) => t.delete('resid_post.2.bucket1'), /has no tensor 'resid_post.2.bucket1'/);
    await refused(
      (t) => t.set('lm_head.weight', { dtype: 'F32', shape: [1], data: new Float32Array(1) }),
      /tensor 'lm_head.weight' that is not part of a mean store/,
    );
    await refused(
      (t) => t.set('resid_post.3.global', { dtype: 'F32', shape: [32], data: new Float32Array(32) }),
      /'resid_post.3.global' is at layer 3, but resid_post has 3/,
    );
    await refused(
      (t) => t.set('embed.1.global', { dtype: 'F32', shape: [32], data: new Float32Array(32) }),
      /'embed.1.global' is at layer 1, but embed has 1/,
    );
    await refused(
      (t) => t.set('resid_post.0.bucket5', { dtype: 'F32', shape: [4, 32], data: new Float32Array(128) }),
      /bucket 5, but the metadata has 3 buckets/,
    );
    await refused(
      (_, m) => (m.sites = '["embed", "resid_post"]'),
      /'attn_out.0.global' is at a site its metadata/,
    );
  });

  it('refuses shapes that disagree with each other or with the metadata', async () => {
    await refused(
      (t) => t.set('attn_out.1.global', { dtype: 'F32', shape: [31], data: new Float32Array(31) }),
      /'attn_out.1.global' has shape \[31\], but the metadata's positions \(69\) and hidden_size \(32\) make it \[32\]/,
    );
    await refused(
      (_, m) => (m.positions = '70'),
      /'embed.0.position_count' has shape \[69\].* make it \[70\]/,
    );
    await refused((_, m) => (m.hidden_size = '16'), /has shape \[32\].* make it \[16\]/);
    await refused((t) => {
      const b = t.get('resid_post.1.bucket0')!;
      const [Tk, F] = b.shape;
      t.set('resid_post.1.bucket0', {
        dtype: 'F32',
        shape: [Tk - 1, F],
        data: (b.data as Float32Array).slice(F),
      });
    }, /'resid_post.1.bucket0' has shape \[\d+, 32\], but resid_post.0.bucket0 and hidden_size \(32\) make it/);
    await refused((t) => {
      f32(t, 'mlp_out.2.position_count')[5] -= 1;
    }, /position counts of mlp_out.2 differ from those of embed.0/);
    await refused((_, m) => (m.tokens = '224'), /add up to 225 tokens, but its metadata says 224/);
    await refused((_, m) => (m.sequences = '8'), /buckets hold 7 sequences .* metadata says 8/);
    await refused(
      (_, m) => (m.bucket_sequences = '[3, 2, 0]'),
      /'resid_post.0.bucket2' is for bucket 2, which the metadata says has no sequences/,
    );
  });

  it('refuses non-finite values, fractional counts and dtypes a store does not use', async () => {
    await refused((t) => {
      f32(t, 'attn_out.2.position')[40] = NaN;
    }, /'attn_out.2.position' has a non-finite value \(NaN\) at element 40/);
    await refused((t) => {
      f32(t, 'resid_post.0.bucket2')[0] = Infinity;
    }, /'resid_post.0.bucket2' has a non-finite value \(Infinity\)/);
    await refused((t) => {
      f32(t, 'embed.0.position_count')[3] = 6.5;
    }, /position 3's count is 6.5, not a positive whole number/);
    await refused(
      (t) => t.set('embed.0.global', { dtype: 'I32', shape: [32], data: new Int32Array(32) }),
      /'embed.0.global' is I32, but the metadata's dtype float32 makes it F32/,
    );
    await refused((_, m) => (m.dtype = 'float64'), /is F32, but the metadata's dtype float64 makes it F64/);
    await refused((_, m) => (m.dtype = 'bfloat16'), /metadata 'dtype' is 'bfloat16'/);
  });
});
