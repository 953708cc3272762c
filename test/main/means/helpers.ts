// Mean stores for the tests: a `means` run on a tiny fixture model (test/main/analyses/means.test.ts
// builds them the same way), and a safetensors file read back as a map to tamper with.

import { join } from 'node:path';
import { Project } from '../../../main/library/project.ts';
import { runAnalyses, type RunRequest } from '../../../main/runner.ts';
import { fileSource } from '../../../native-models/weights/byte-source.ts';
import {
  readSafetensors,
  readSafetensorsHeader,
  writeSafetensors,
  type WritableTensor,
} from '../../../native-models/weights/safetensors.ts';

export const FIX = join(import.meta.dirname, '../../fixtures/data');
export const TINY = join(FIX, 'tiny-pipeline');
export const TEXTS = join(TINY, 'texts.jsonl');

/** A new project at `path` with one complete `means` run. */
export async function buildStore(
  path: string,
  req: Partial<RunRequest> = {},
): Promise<{ project: Project; runId: number }> {
  const project = Project.create(path);
  const out = await runAnalyses(project, {
    model: TINY,
    dataset: { path: TEXTS, field: 'text' },
    analyses: ['means'],
    batchSize: 3,
    ...req,
  });
  return { project, runId: out.runId };
}

/** A store file's tensors (F32 as written) and metadata. */
export async function readStoreFile(
  path: string,
): Promise<{ tensors: Map<string, WritableTensor>; metadata: Record<string, string> }> {
  const src = fileSource(path);
  try {
    const header = await readSafetensorsHeader(src);
    const dict = await readSafetensors(src);
    const tensors = new Map<string, WritableTensor>();
    for (const [name, t] of dict) tensors.set(name, { dtype: 'F32', shape: t.shape, data: t.data });
    return { tensors, metadata: { ...(header.metadata ?? {}) } };
  } finally {
    await src.close?.();
  }
}

/** Rewrites a store file with an edit applied to its tensors and metadata. */
export async function tamper(
  from: string,
  to: string,
  edit: (tensors: Map<string, WritableTensor>, metadata: Record<string, string>) => void,
): Promise<string> {
  const { tensors, metadata } = await readStoreFile(from);
  edit(tensors, metadata);
  await writeSafetensors(to, tensors, metadata);
  return to;
}
