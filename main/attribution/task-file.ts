// The run's task file read back for the attribution analysis: the file the run read (a project
// dataset: the bytes the project kept, or the file it was imported from), checked against the sha256 the run's configuration hash
// covers, so the tasks are the bytes the run is named by; then parsed (tasks.ts).

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { AtlasError } from '../errors.ts';
import type { RunContext } from '../analyses/types.ts';
import { stringOption } from '../options/read.ts';
import { parseTasks, type Task, type TaskAlign } from './tasks.ts';

export function readTaskFile(ctx: RunContext): Task[] {
  const file = ctx.dataset;
  if (!file?.bytes && !file?.path)
    throw new AtlasError(
      'The attribution analysis reads its tasks from the dataset file; this dataset has no file to read.',
    );
  let bytes: Uint8Array;
  if (file.bytes) bytes = file.bytes;
  else
    try {
      bytes = readFileSync(file.path!);
    } catch (e) {
      throw new AtlasError(`The task file ${file.path} could not be read: ${(e as Error).message}`);
    }
  if (createHash('sha256').update(bytes).digest('hex') !== file.sha256)
    throw new AtlasError(`The task file ${file.name} changed since the dataset was read; run again.`);
  return parseTasks(new TextDecoder('utf-8').decode(bytes), file.name, ctx.tokenizer, {
    prependBos: ctx.prependBos ?? false,
    maxTokens: Math.min(ctx.seqLen ?? ctx.config.maxPositions, ctx.config.maxPositions),
    align: stringOption(ctx, 'task_align') as TaskAlign,
  });
}
