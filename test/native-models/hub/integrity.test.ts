// The checkpoint integrity scan against the imitation hub: every planted duplicate and misplaced
// checkpoint is flagged and nothing else (EleutherAI/pythia #83, #195, #205, #206 as plants), from
// tree listings alone (no weight byte served); weight statistics read by HTTP ranges equal the
// statistics of the whole file read at once and an independent Float64 sum over the tensors; the
// requests are counted to show that no weight file was downloaded whole.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AtlasError } from '../../../native-models/errors.ts';
import { scanIntegrity, type IntegrityReport } from '../../../native-models/hub/integrity-scan.ts';
import { integrityStorePath } from '../../../native-models/hub/integrity-store.ts';
import { weightStats } from '../../../native-models/hub/weight-stats.ts';
import { neoxWeightGroups } from '../../../native-models/neox/weight-groups.ts';
import { memorySource } from '../../../native-models/weights/byte-source.ts';
import { readSafetensors } from '../../../native-models/weights/safetensors.ts';
import { plantedRepo, shardedRepo, TINY_CFG, TINY_PARAMS, TINY_STEPS } from './imitation-pythia.ts';
import { MockHub, startMockHub } from './mock-hub.ts';
import { existsSync, readFileSync } from 'node:fs';
import { parseNeoxConfig } from '../../../native-models/neox/config-parse.ts';

const REVS = TINY_STEPS.map((s) => `step${s}`);

function kinds(report: IntegrityReport): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const s of report.steps) if (s.flags.length > 0) out[s.revision] = s.flags.map((f) => f.kind).sort();
  return out;
}

function nonEmpty(e: Record<string, string[]>): Record<string, string[]> {
  return Object.fromEntries(
    Object.entries(e)
      .filter(([, v]) => v.length > 0)
      .map(([k, v]) => [k, [...v].sort()]),
  );
}

describe('integrity scan on the imitation hub', () => {
  let hub: MockHub;
  let cache: string;
  let planted: Awaited<ReturnType<typeof plantedRepo>>;
  let sharded: Awaited<ReturnType<typeof shardedRepo>>;
  const scan = (repo: string, extra: Partial<Parameters<typeof scanIntegrity>[0]> = {}) =>
    scanIntegrity({
      repo,
      revisions: REVS,
      cfg: TINY_CFG,
      totalParams: TINY_PARAMS,
      lastStep: 5000,
      hubUrl: hub.url,
      cacheDir: cache,
      ...extra,
    });

  beforeEach(async () => {
    planted = await plantedRepo();
    sharded = await shardedRepo();
    hub = await startMockHub([planted.repo, sharded.repo]);
    cache = mkdtempSync(join(tmpdir(), 'atlas-integrity-'));
  });
  afterEach(async () => {
    await hub.close();
    rmSync(cache, { recursive: true, force: true });
  });

  it('flags every planted duplicate and misplaced checkpoint and nothing else, from listings only', async () => {
    const report = await scan(planted.repo.repo);
    expect(kinds(report)).toEqual(nonEmpty(planted.expected));
    const byRev = new Map(report.steps.map((s) => [s.revision, s]));
    expect(byRev.get('step0')?.flags[0].sameAs).toEqual(['step1']);
    expect(byRev.get('step8')?.flags.map((f) => f.sameAs)).toContainEqual(['main']);
    expect(byRev.get('step2000')?.flags.find((f) => f.kind === 'misplaced')?.detail).toMatch(/step3000/);
    // One tree request per revision (10 steps + main) and not one weight byte.
    expect(hub.requests.filter((r) => r.path.includes('/tree/'))).toHaveLength(REVS.length + 1);
    expect(hub.bytesServed('model.safetensors')).toBe(0);
    expect(existsSync(integrityStorePath(cache, planted.repo.repo))).toBe(true);
  });

  it('flags a shard shared with the final model (#206), not the final model itself', async () => {
    const report = await scan(sharded.repo.repo);
    expect(kinds(report)).toEqual(nonEmpty(sharded.expected));
    const f = report.steps.find((s) => s.revision === 'step2000')?.flags[0];
    expect(f?.detail).toMatch(/model-00001-of-00002\.safetensors of step2000 is identical/);
    expect(f?.sameAs).toEqual(['step5000', 'main']);
  });

  it('finds embeddings identical while the files differ only with weight statistics, read by ranges', async () => {
    const report = await scan(planted.repo.repo, { statsFor: REVS, chunkBytes: 30 });
    expect(kinds(report)).toEqual(
      nonEmpty({ ...planted.expected, step1000: ['misplaced'], step3000: ['misplaced'] }),
    );
    // Identical weights are read once: 7 distinct weight files among the 10 steps.
    const distinct = new Set(report.listings.filter((l) => l.step !== null).map((l) => l.weightsDigest));
    expect(Object.keys(report.stats)).toHaveLength(distinct.size);
    // No request without a Range header fetched weight bytes, and fewer bytes than the files hold came.
    const weightGets = hub.requests.filter((r) => r.file === 'model.safetensors' && r.method === 'GET');
    expect(weightGets.every((r) => r.range !== null && r.status === 206)).toBe(true);
    const fileBytes = [...distinct].reduce(
      (s, d) => s + (report.listings.find((l) => l.weightsDigest === d)?.weightBytes ?? 0),
      0,
    );
    const served = hub.bytesServed('model.safetensors');
    expect(served).toBeGreaterThan(0);
    expect(served).toBeLessThan(fileBytes * 0.8);
    // A second scan reads no weights again.
    const before = hub.requests.length;
    await scan(planted.repo.repo, { statsFor: REVS, chunkBytes: 30 });
    expect(hub.requests.slice(before).filter((r) => r.file === 'model.safetensors')).toHaveLength(0);
    // Offline: the stored scan answers without a request.
    const n = hub.requests.length;
    const offline = await scan(planted.repo.repo, { offline: true });
    expect(hub.requests.length).toBe(n);
    expect(kinds(offline)).toEqual(kinds(report));
  });

  it('range-read statistics equal full-read statistics and an independent Float64 sum', async () => {
    for (const rev of ['step4', 'step1000']) {
      const report = await scan(planted.repo.repo, { statsFor: [rev], chunkBytes: 30, statsScope: 'full' });
      const listing = report.listings.find((l) => l.revision === rev);
      const ranged = report.stats[listing?.weightsDigest as string];
      const bytes = planted.bytes[rev];
      const full = await weightStats(
        [{ file: 'full', src: memorySource(bytes) }],
        TINY_CFG,
        'full',
        bytes.length,
      );
      expect(full.reads).toBe(3); // the length, the header, one read of all data
      expect(ranged.embedNorm).toBe(full.embedNorm);
      expect(ranged.unembedNorm).toBe(full.unembedNorm);
      expect(ranged.finalLnNorm).toBe(full.finalLnNorm);
      expect(ranged.layerNorms).toEqual(full.layerNorms);
      expect(ranged.tensors.map((t) => [t.name, t.sumsq, t.sha256])).toEqual(
        full.tensors.map((t) => [t.name, t.sumsq, t.sha256]),
      );
      // Independent: every tensor read whole, squares summed in Float64 per group.
      const dict = await readSafetensors(memorySource(bytes));
      const groups = neoxWeightGroups(TINY_CFG, 'full');
      const sums = new Map<string | number, number>();
      for (const [name, { group }] of groups) {
        let s = 0;
        for (const v of dict.get(name)?.data ?? []) s += v * v;
        sums.set(group, (sums.get(group) ?? 0) + s);
      }
      const rel = (a: number | null, b: number) => Math.abs((a ?? NaN) - b) / b;
      expect(rel(ranged.embedNorm, Math.sqrt(sums.get('embed_in') ?? 0))).toBeLessThan(1e-12);
      expect(rel(ranged.unembedNorm, Math.sqrt(sums.get('embed_out') ?? 0))).toBeLessThan(1e-12);
      for (let l = 0; l < TINY_CFG.numLayers; l++) {
        expect(rel(ranged.layerNorms[l], Math.sqrt(sums.get(l) ?? 0))).toBeLessThan(1e-12);
      }
    }
  });

  it('reads torch.save checkpoints by ranges too, and they agree with the same weights as safetensors', async () => {
    const dir = join(import.meta.dirname, '../../fixtures/data/tiny-neox');
    const config = readFileSync(join(dir, 'config.json'));
    const cfg = parseNeoxConfig(JSON.parse(config.toString()));
    const bin = readFileSync(join(dir, 'pytorch_model.bin'));
    await hub.close();
    hub = await startMockHub([
      {
        repo: 'EleutherAI/pythia-neox-bin',
        revisions: {
          step1: [
            { path: 'config.json', content: config },
            { path: 'pytorch_model.bin', content: bin },
          ],
          step2: [
            { path: 'config.json', content: config },
            { path: 'model.safetensors', content: readFileSync(join(dir, 'model.safetensors')) },
          ],
        },
      },
    ]);
    const report = await scanIntegrity({
      repo: 'EleutherAI/pythia-neox-bin',
      revisions: ['step1', 'step2'],
      cfg,
      totalParams: 1,
      lastStep: 2,
      hubUrl: hub.url,
      cacheDir: cache,
      statsFor: ['step1', 'step2'],
      statsScope: 'full',
    });
    const [fromBin, fromSt] = ['step1', 'step2'].map(
      (r) => report.stats[report.listings.find((l) => l.revision === r)?.weightsDigest as string],
    );
    const byName = (s: typeof fromBin) => new Map(s.tensors.map((t) => [t.name, t]));
    const b = byName(fromBin);
    expect(b.size).toBe(byName(fromSt).size);
    for (const [name, t] of byName(fromSt)) {
      expect(b.get(name)?.sumsq, name).toBe(t.sumsq);
      expect(b.get(name)?.sha256, name).toBe(t.sha256); // the same values hash the same in both formats
    }
    const rel = (x: number | null, y: number | null) => Math.abs((x ?? NaN) - (y ?? NaN)) / (y ?? NaN);
    expect(rel(fromBin.embedNorm, fromSt.embedNorm)).toBe(0);
    for (let l = 0; l < cfg.numLayers; l++)
      expect(rel(fromBin.layerNorms[l], fromSt.layerNorms[l])).toBeLessThan(1e-12);
    // Only byte ranges of the .bin were asked for.
    const gets = hub.requests.filter((q) => q.file === 'pytorch_model.bin' && q.method === 'GET');
    expect(gets.length).toBeGreaterThan(0);
    expect(gets.every((q) => q.range !== null)).toBe(true);
  });

  it('asks again after a rate limit (HTTP 429) and goes on', async () => {
    let limited = 0;
    const flaky: typeof fetch = async (input, init) => {
      if (String(input instanceof Request ? input.url : input).includes('/tree/step2') && limited === 0) {
        limited++;
        return new Response('slow down', { status: 429 });
      }
      return fetch(input, init);
    };
    const report = await scan(planted.repo.repo, { fetch: flaky });
    expect(limited).toBe(1);
    expect(kinds(report)).toEqual(nonEmpty(planted.expected));
  });

  it('says so in one sentence when the hub is down, and for an unknown repository', async () => {
    await expect(scan('EleutherAI/pythia-none')).rejects.toThrow(/no model repository/);
    const url = hub.url;
    await hub.close();
    await expect(scan(planted.repo.repo, { hubUrl: url })).rejects.toThrow(AtlasError);
    await expect(scan(planted.repo.repo, { hubUrl: url })).rejects.toThrow(
      /Cannot reach the Hugging Face hub/,
    );
    hub = await startMockHub([]);
  });
});
