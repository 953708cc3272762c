// The integrity scan as the engine serves it (main/services/integrity.ts through the AtlasApi
// `checkpointFlags` call the Timeline draws): a catalogue model whose repository is the imitation
// hub; without `scan` only the stored result is read (nothing before the first scan, no request),
// with it every planted fault comes back per step; an offline suite model has no flags, an unknown
// model is one clear error.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAtlasApi, type AtlasEngine } from '../../../main/api.ts';
import {
  Catalogue,
  installCatalogue,
  pythiaSuite,
  type SuiteModel,
} from '../../../native-models/hub/catalogue.ts';
import { buildCatalogue } from '../../../native-models/suites.ts';
import { plantedRepo, TINY_CFG, TINY_PARAMS, TINY_STEPS } from '../../native-models/hub/imitation-pythia.ts';
import { MockHub, startMockHub } from '../../native-models/hub/mock-hub.ts';
import { cli } from '../cli/capture.ts';

const TINY: SuiteModel = {
  name: 'pythia-tiny',
  repo: 'EleutherAI/pythia-tiny',
  family: 'pythia',
  size: 'tiny',
  deduped: false,
  config: TINY_CFG,
  steps: TINY_STEPS,
  nonEmbeddingParams: 0,
  totalParams: TINY_PARAMS,
};

let hub: MockHub;
let dir: string;
let api: AtlasEngine;
let planted: Awaited<ReturnType<typeof plantedRepo>>;

beforeAll(async () => {
  planted = await plantedRepo();
  hub = await startMockHub([planted.repo]);
  dir = mkdtempSync(join(tmpdir(), 'atlas-integrity-api-'));
  process.env.HF_ENDPOINT = hub.url;
  installCatalogue(new Catalogue([pythiaSuite(), [TINY]]));
  api = createAtlasApi({
    host: 'test',
    emit: () => undefined,
    settingsFile: join(dir, 's.json'),
    cacheDir: join(dir, 'hub'),
  });
});
afterAll(async () => {
  await api.dispose();
  await hub.close();
  delete process.env.HF_ENDPOINT;
  installCatalogue(buildCatalogue());
  rmSync(dir, { recursive: true, force: true });
});

describe('checkpointFlags', () => {
  it('reads nothing from the hub without scan, and gives every planted flag per step with it', async () => {
    const before = await api.checkpointFlags({ model: 'pythia-tiny' });
    expect(before.ok && before.value.scannedAt).toBeNull();
    expect(hub.requests).toHaveLength(0);
    const r = await api.checkpointFlags({ model: 'pythia-tiny', scan: true });
    if (!r.ok) throw new Error(r.error.message);
    const flagged = Object.fromEntries(
      r.value.steps
        .filter((s) => s.flags.length > 0)
        .map((s) => [s.revision, s.flags.map((f) => f.kind).sort()]),
    );
    const expected = Object.fromEntries(
      Object.entries(planted.expected)
        .filter(([, v]) => v.length > 0)
        .map(([k, v]) => [k, [...v].sort()]),
    );
    expect(flagged).toEqual(expected);
    expect(r.value.steps.find((s) => s.revision === 'step0')?.flags[0].sameAs).toEqual(['step1']);
    // The stored scan answers again without the hub.
    const n = hub.requests.length;
    const again = await api.checkpointFlags({ model: 'pythia-tiny' });
    expect(again.ok && again.value.steps).toEqual(r.value.steps);
    expect(hub.requests.length).toBe(n);
  });

  it('has no flags for an offline suite model and refuses an unknown model', async () => {
    installCatalogue(buildCatalogue());
    const micro = buildCatalogue()
      .list()
      .find((m) => m.repo === null)?.name as string;
    const r = await api.checkpointFlags({ model: micro });
    expect(r.ok && r.value.steps).toEqual([]);
    const bad = await api.checkpointFlags({ model: 'pythia-nonesuch' });
    expect(!bad.ok && bad.error.message).toMatch(/Unknown model "pythia-nonesuch"/);
    installCatalogue(new Catalogue([pythiaSuite(), [TINY]]));
  });

  it('the CLI says so in one line for a model that is not on the hub or a scan never made', async () => {
    const micro = buildCatalogue()
      .list()
      .find((m) => m.repo === null)?.name as string;
    const a = await cli('integrity', '--model', micro);
    expect(a.code).not.toBe(0);
    expect(a.err).toMatch(/not on the hub/);
    process.env.HF_HUB_CACHE = join(dir, 'empty-cache');
    try {
      const b = await cli('integrity', '--model', 'pythia-70m', '--offline');
      expect(b.code).not.toBe(0);
      expect(b.err).toMatch(/No integrity scan of pythia-70m is stored/);
    } finally {
      delete process.env.HF_HUB_CACHE;
    }
    installCatalogue(new Catalogue([pythiaSuite(), [TINY]]));
  });
});
