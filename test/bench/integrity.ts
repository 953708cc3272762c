// Integrity scan cost at a real Pythia size (`node bin/run-ts.js test/bench/integrity.ts`): a
// pythia-70m-shaped checkpoint (70,426,624 parameters, BF16 safetensors, 141 MB) at three steps on
// the imitation hub (one tree request each), then the light and full weight statistics of one of
// them read by HTTP ranges: bytes and requests served against the file's size, and the time. The
// full-scope norms are checked against one read of the whole file (they must be equal).

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  installCatalogue,
  pythiaSuite,
  Catalogue,
  findSuiteModel,
} from '../../native-models/hub/catalogue.ts';
import { scanIntegrity } from '../../native-models/hub/integrity-scan.ts';
import { weightStats } from '../../native-models/hub/weight-stats.ts';
import { neoxParamSpecs } from '../../native-models/neox/params.ts';
import { memorySource } from '../../native-models/weights/byte-source.ts';
import { writeSafetensors, type WritableTensor } from '../../native-models/weights/safetensors.ts';
import { startMockHub } from '../native-models/hub/mock-hub.ts';

installCatalogue(new Catalogue([pythiaSuite()]));
const m = findSuiteModel('pythia-70m');
if (!m?.repo) throw new Error('no pythia-70m');
const dir = mkdtempSync(join(tmpdir(), 'atlas-bench-integrity-'));
try {
  const dict = new Map<string, WritableTensor>();
  let x = 12345;
  for (const p of neoxParamSpecs(m.config)) {
    const n = p.shape.reduce((a, b) => a * b, 1);
    const data = new Uint16Array(n);
    for (let i = 0; i < n; i++) {
      x = (x * 1103515245 + 12345) >>> 0;
      data[i] = 0x3c00 | (x >>> 22); // BF16 values in [2^-7, 2^-6): finite, varied
    }
    dict.set(p.name, { dtype: 'BF16', shape: p.shape, data });
  }
  const file = join(dir, 'model.safetensors');
  await writeSafetensors(file, dict);
  const bytes = readFileSync(file);
  const config = Buffer.from('{"model_type":"gpt_neox"}');
  const revisions = Object.fromEntries(
    ['step1000', 'step2000', 'main'].map((r) => [
      r,
      [
        { path: 'config.json', content: config },
        { path: 'model.safetensors', content: bytes },
      ],
    ]),
  );
  const hub = await startMockHub([{ repo: m.repo, revisions }]);
  const base = { repo: m.repo, cfg: m.config, totalParams: m.totalParams, lastStep: 143000, hubUrl: hub.url };
  try {
    const t0 = performance.now();
    await scanIntegrity({ ...base, revisions: ['step1000', 'step2000'], cacheDir: join(dir, 'c0') });
    const tList = performance.now() - t0;
    console.log(
      `listing 3 revisions: ${hub.requests.length} requests, ${hub.bytesServed('model.safetensors')} weight bytes, ${tList.toFixed(0)} ms`,
    );
    for (const scope of ['light', 'full'] as const) {
      const n0 = hub.requests.length;
      const t = performance.now();
      const r = await scanIntegrity({
        ...base,
        revisions: ['step1000'],
        cacheDir: join(dir, scope),
        statsFor: ['step1000'],
        statsScope: scope,
      });
      const ms = performance.now() - t;
      const reqs = hub.requests
        .slice(n0)
        .filter((q) => q.file === 'model.safetensors' || q.path.startsWith('/cdn'));
      const served = reqs.reduce((s, q) => s + q.bytesSent, 0);
      const st = Object.values(r.stats)[0];
      console.log(
        `${scope}: ${served} of ${bytes.length} bytes (${((100 * served) / bytes.length).toFixed(1)}%) in ${reqs.length} weight requests, ${ms.toFixed(0)} ms; |embed_in| ${st.embedNorm}`,
      );
      if (scope === 'full') {
        const whole = await weightStats(
          [{ file: 'whole', src: memorySource(bytes) }],
          m.config,
          'full',
          bytes.length,
        );
        const same =
          whole.embedNorm === st.embedNorm && whole.layerNorms.every((v, i) => v === st.layerNorms[i]);
        console.log(`full by ranges equals one whole read: ${same}`);
      }
    }
  } finally {
    await hub.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
