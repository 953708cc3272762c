// `pythia-atlas integrity` end to end against the imitation hub ($HF_ENDPOINT) for a real catalogue
// model (pythia-14m) whose hub holds only a few of its 154 branches: the planted duplicate is
// flagged, every branch the hub lacks is `missing` (the scan goes on), `--json` carries the same
// report, and `--offline` prints the stored scan without a request.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PYTHIA_STEPS } from '../../../native-models/hub/catalogue.ts';
import { MockHub, pseudoRandomBytes, startMockHub } from '../../native-models/hub/mock-hub.ts';
import { cli } from './capture.ts';

let hub: MockHub;
let dir: string;
const SIZE = 2 * 14_067_712; // 2 bytes per parameter: no size flag

beforeAll(async () => {
  const config = { path: 'config.json', content: Buffer.from('{}') };
  const w = (seed: number) => ({ path: 'model.safetensors', content: pseudoRandomBytes(SIZE, seed) });
  const a = w(1);
  const final = w(3);
  hub = await startMockHub([
    {
      repo: 'EleutherAI/pythia-14m',
      revisions: {
        step0: [config, a],
        step1: [config, a],
        step2: [config, w(2)],
        step143000: [config, final],
        main: [config, final],
      },
    },
  ]);
  dir = mkdtempSync(join(tmpdir(), 'atlas-integrity-cli-'));
  process.env.HF_ENDPOINT = hub.url;
  process.env.HF_HUB_CACHE = join(dir, 'hub');
});
afterAll(async () => {
  delete process.env.HF_ENDPOINT;
  delete process.env.HF_HUB_CACHE;
  await hub.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('pythia-atlas integrity', () => {
  it('flags the planted duplicate and the branches the hub lacks, with no weight byte served', async () => {
    const r = await cli('integrity', '--model', 'pythia-14m', '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as { steps: { revision: string; flags: { kind: string }[] }[] };
    const kinds = Object.fromEntries(
      report.steps.map((s) => [s.revision, s.flags.map((f) => f.kind).join(',')]),
    );
    expect(kinds.step0).toBe('duplicate');
    expect(kinds.step1).toBe('duplicate');
    expect(kinds.step2).toBe('');
    expect(kinds.step143000).toBe('');
    const missing = report.steps.filter((s) => s.flags.some((f) => f.kind === 'missing'));
    expect(missing).toHaveLength(PYTHIA_STEPS.length - 4);
    expect(hub.requests.filter((q) => q.path.includes('/tree/'))).toHaveLength(PYTHIA_STEPS.length + 1);
    expect(hub.bytesServed('model.safetensors')).toBe(0);
  });

  it('prints the stored scan offline, without a request', async () => {
    const n = hub.requests.length;
    const r = await cli('integrity', '--model', 'pythia-14m', '--offline');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(
      /^pythia-14m \(EleutherAI\/pythia-14m\): 154 step branches listed .*; 152 flagged\./,
    );
    expect(r.out).toMatch(/duplicate +step0 has the same weights as step1/);
    expect(r.out).toMatch(/missing +step4 is not on the hub\./);
    expect(hub.requests.length).toBe(n);
  });
});
