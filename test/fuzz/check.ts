// Runs one fuzz target with fast-check and reports a finding briefly: the target, the error, the
// seed and path to replay it, and the shrunk input written to a file (the inputs are too large to
// print).

import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { mutatedArb } from './mutate.ts';
import { runCase, type Target } from './targets.ts';

export interface FuzzReport {
  target: string;
  cases: number;
  seconds: number;
}

export async function fuzz(target: Target, numRuns: number, seed: number): Promise<FuzzReport> {
  const t0 = performance.now();
  const out = await fc.check(
    fc.asyncProperty(mutatedArb(target.seeds), (bytes) => runCase(target, bytes)),
    { seed, numRuns, endOnFailure: false },
  );
  if (out.failed) {
    const file = join(tmpdir(), `atlas-fuzz-finding-${target.name}.bin`);
    if (out.counterexample) writeFileSync(file, out.counterexample[0]);
    const why = out.errorInstance instanceof Error ? out.errorInstance.message : String(out.errorInstance);
    throw new Error(
      `${target.name}: ${why} (seed ${out.seed}, path "${out.counterexamplePath}", input in ${file})`,
    );
  }
  return { target: target.name, cases: out.numRuns, seconds: (performance.now() - t0) / 1000 };
}
