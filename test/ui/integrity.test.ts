// Browser mode, issue 13: the Timeline marks the duplicated checkpoints of a stored integrity scan
// and warns before comparing two steps that are the same weights (and not for two that differ);
// the Models view shows the cache against its cap and sets it;
// the "Connect to engine" dialog shows a clear error for a wrong token and for an engine that is
// not there, and with the right token opens the other engine's page. No console errors.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeIntegrityStore } from '../../native-models/hub/integrity-store.ts';
import { serve, type Served } from '../../main/server.ts';
import { goTo, openByPath, HAVE_CHROMIUM, NO_CHROMIUM_REASON, openSession, type Session } from './harness.ts';
import { writeSyntheticProject } from './synthetic.ts';

const STEPS = [0, 1, 8, 1000, 143000];
const h = (c: string) => c.repeat(64);
/** step0 and step1 share their weights (EleutherAI/pythia #83); the rest differ. */
const DIGEST: Record<number, string> = { 0: h('a'), 1: h('a'), 8: h('b'), 1000: h('c'), 143000: h('d') };

describe.skipIf(!HAVE_CHROMIUM)(
  `checkpoint flags and remote engines in browser mode${HAVE_CHROMIUM ? '' : ` (${NO_CHROMIUM_REASON})`}`,
  () => {
    let s: Session;
    let dir: string;
    let other: Served;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'atlas-integrity-ui-'));
      const path = join(dir, 'flags.pythia-atlas');
      writeSyntheticProject(path, {
        models: [{ name: 'pythia-14m', layers: 6, steps: STEPS }],
        positions: 8,
        layerMetrics: ['kurtosis'],
      });
      s = await openSession();
      const listing = (revision: string, digest: string) => ({
        revision,
        step: revision === 'main' ? null : Number(revision.slice(4)),
        format: 'safetensors' as const,
        weightFiles: [{ path: 'model.safetensors', size: 30_000_000, sha256: digest }],
        weightsDigest: digest,
        weightBytes: 30_000_000,
      });
      await writeIntegrityStore(join(s.home, 'hub'), {
        repo: 'EleutherAI/pythia-14m',
        scannedAt: '2026-12-01T00:00:00.000Z',
        hubUrl: 'http://hub.invalid',
        listings: [...STEPS.map((st) => listing(`step${st}`, DIGEST[st])), listing('main', DIGEST[143000])],
        stats: {},
      });
      await openByPath(s.page, path);
      other = await serve({ engine: 'inline', token: 'the-right-token-123' });
    }, 180_000);

    afterAll(async () => {
      await other?.close();
      await s?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('marks the duplicated steps and warns before comparing two that are the same weights', async () => {
      await goTo(s.page, 'Timeline');
      const flags = s.page.getByTestId('checkpoint-flags');
      await flags.getByText('Hub checkpoints checked 2026-12-01').waitFor();
      const marks = flags.getByRole('group', { name: 'Flagged checkpoints' });
      await expect(marks.getByRole('button').allTextContents()).resolves.toEqual([
        'step0 · duplicate',
        'step1 · duplicate',
      ]);
      await marks.getByRole('button', { name: 'step0 · duplicate' }).click();
      await expect(
        s.page.getByRole('slider', { name: 'Checkpoint' }).getAttribute('aria-valuenow'),
      ).resolves.toBe('0');
      await flags
        .getByRole('list', { name: 'Flags of this checkpoint' })
        .getByText(/same weights as step1/)
        .waitFor();
      await flags.getByLabel('Compare with').selectOption('8');
      await expect(flags.getByRole('alert').count()).resolves.toBe(0);
      await flags.getByLabel('Compare with').selectOption('1');
      await expect(flags.getByRole('alert').textContent()).resolves.toMatch(
        /step0 and step1 are the same weights on the hub/,
      );
      await flags.getByRole('button', { name: 'Compare anyway' }).click();
      await expect(
        s.page.getByRole('slider', { name: 'Checkpoint' }).getAttribute('aria-valuenow'),
      ).resolves.toBe('1');
    });

    it('shows the cache against its cap, and sets and clears the cap', async () => {
      await goTo(s.page, 'Models');
      const budget = s.page.getByTestId('cache-budget');
      await budget.getByText(/used, no cap/).waitFor();
      await budget.getByLabel('Cap (GB)').fill('2.5');
      await budget.getByRole('button', { name: 'Set cap' }).click();
      await budget.getByText(/of a 2\.5 GB cap/).waitFor();
      await budget.getByRole('button', { name: 'No cap' }).click();
      await budget.getByText(/used, no cap/).waitFor();
    });

    it('tells a wrong token and an absent engine apart, and opens the engine with the right token', async () => {
      const base = `http://127.0.0.1:${other.port}`;
      await s.page.getByRole('button', { name: 'Connect to engine' }).click();
      const dialog = s.page.getByRole('dialog', { name: 'Connect to engine' });
      await dialog.getByLabel('Engine URL').fill(base);
      await dialog.getByLabel('Token').fill('wrong');
      await dialog.getByRole('button', { name: 'Connect' }).click();
      await expect(dialog.getByTestId('connect-error').textContent()).resolves.toMatch(/refused the token/);
      await dialog.getByLabel('Engine URL').fill('http://127.0.0.1:9');
      await dialog.getByLabel('Token').fill('the-right-token-123');
      await dialog.getByRole('button', { name: 'Connect' }).click();
      await expect(dialog.getByTestId('connect-error').textContent()).resolves.toMatch(
        /Cannot reach an engine/,
      );
      await dialog.getByLabel('Engine URL').fill(base);
      await dialog.getByRole('button', { name: 'Connect' }).click();
      await s.page.waitForURL(`${base}/?token=the-right-token-123`);
      await s.page.locator('[data-ready="yes"]').waitFor({ timeout: 20_000 });
      expect(s.errors).toEqual([]);
    });
  },
);
