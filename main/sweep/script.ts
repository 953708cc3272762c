// The sweep's one job script (`DIR/sweep.sbatch`): a Slurm job array with one task per model x
// revision (https://slurm.schedmd.com/job_array.html). Each task runs `pythia-atlas sweep task DIR
// --index $SLURM_ARRAY_TASK_ID`, which runs the headless CLI `run` into the task's own shard. The
// same file serves both ways of running a sweep: sbatch reads its `#SBATCH` lines, and the local
// runner executes it with bash (to which those lines are comments) with SLURM_ARRAY_TASK_ID set,
// so a laptop and a cluster run each task through the same code path. The script writes its task's
// output to `logs/task-<i>.log` itself; Slurm's own messages (a time limit, memory) go to
// `logs/slurm-<job>_<a>.log`. A grid larger than the cluster's MaxArraySize (1001 by default; the
// whole suite is 10 sizes x 154 checkpoints) is submitted as several arrays, each told its first
// task by ATLAS_TASK_OFFSET, so task i is array index i - offset of its chunk.

import { AtlasError } from '../errors.ts';
import type { SweepConfig } from './config.ts';

/** A word for bash, single-quoted. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Indices as Slurm's array syntax, ranges compressed (`0-5`, `1,3-4`), with `%K` when given. */
export function arraySpec(indices: readonly number[], parallel?: number): string {
  const sorted = [...new Set(indices)].sort((a, b) => a - b);
  if (sorted.length === 0) throw new Error('arraySpec: no indices');
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(j === i ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return `${parts.join(',')}${parallel !== undefined ? `%${parallel}` : ''}`;
}

/** Paths in `#SBATCH` lines are not shell-quoted by sbatch: keep them to plain characters. */
function sbatchPath(p: string, what: string): string {
  if (!/^[\w./@+,=-]+$/.test(p))
    throw new AtlasError(
      `The ${what} ${p} has characters a Slurm job script cannot carry (spaces, quotes, ...).`,
      'Choose a folder whose path has only letters, digits and . _ - / @ +.',
    );
  return p;
}

/** The log the script writes for task `index` (the same for every attempt and both modes). */
export function logFile(dir: string, index: number): string {
  return `${dir}/logs/task-${index}.log`;
}

/** Slurm's output file of one array task (its own messages: time limit, out of memory, ...). */
export function slurmLogFile(dir: string, job: string | '%A', arrayIndex: number | '%a'): string {
  return `${dir}/logs/slurm-${job}_${arrayIndex}.log`;
}

/** Tasks grouped into arrays of at most `maxArray` indices: [{ offset, indices (array indices) }]. */
export function chunkTasks(
  indices: readonly number[],
  maxArray: number,
): { offset: number; indices: number[] }[] {
  const byChunk = new Map<number, number[]>();
  for (const i of [...new Set(indices)].sort((a, b) => a - b)) {
    const offset = Number.isFinite(maxArray) ? Math.floor(i / maxArray) * maxArray : 0;
    byChunk.set(offset, [...(byChunk.get(offset) ?? []), i - offset]);
  }
  return [...byChunk].map(([offset, list]) => ({ offset, indices: list }));
}

/**
 * The job script for `config`. Its own array covers the first chunk (every task when the grid fits
 * in `maxArray`); the sweep passes --array (and ATLAS_TASK_OFFSET) on sbatch's command line.
 */
export function jobScript(c: SweepConfig, maxArray = Infinity): string {
  const dir = sbatchPath(c.dir, 'sweep folder');
  const width = Math.max(...c.tasks.map((t) => `${t.model}@${t.revision}`.length));
  const table = c.tasks.map(
    (t) => `#   ${String(t.index).padStart(3)}  ${`${t.model}@${t.revision}`.padEnd(width)}  ${t.shard}`,
  );
  const first = chunkTasks(
    c.tasks.map((t) => t.index),
    maxArray,
  )[0];
  const array = arraySpec(first.indices, c.slurm.parallel);
  const name = `atlas-${dir.split('/').filter(Boolean).pop() ?? 'sweep'}`.slice(0, 64);
  const sbatch = [
    `--job-name=${name}`,
    `--array=${array}`,
    `--output=${slurmLogFile(dir, '%A', '%a')}`,
    `--chdir=${dir}`,
    c.slurm.partition && `--partition=${c.slurm.partition}`,
    c.slurm.account && `--account=${c.slurm.account}`,
    c.slurm.time && `--time=${c.slurm.time}`,
    c.slurm.gres && `--gres=${c.slurm.gres}`,
    c.slurm.mem && `--mem=${c.slurm.mem}`,
    c.run.threads !== undefined && `--cpus-per-task=${c.run.threads}`,
  ].filter((x): x is string => typeof x === 'string');
  return [
    '#!/bin/bash',
    `# Pythia Atlas sweep (${c.format}), written ${c.created} by 'pythia-atlas sweep'.`,
    `# One array task per model x revision; task i runs the headless CLI into its own project shard:`,
    ...table,
    `# On Slurm:  sbatch ${dir}/sweep.sbatch   (pythia-atlas sweep --slurm does this)`,
    `# Locally:   SLURM_ARRAY_TASK_ID=<i> bash ${dir}/sweep.sbatch   (pythia-atlas sweep without --slurm)`,
    `# Output:    logs/task-<i>.log (the task), logs/slurm-<job>_<array index>.log (Slurm's messages)`,
    `# Then:      pythia-atlas sweep status ${dir}; pythia-atlas merge --into P.pythia-atlas ${dir}/shards`,
    ...sbatch.map((o) => `#SBATCH ${o}`),
    'set -euo pipefail',
    `export PYTHIA_ATLAS_CACHE=${shellQuote(c.env.PYTHIA_ATLAS_CACHE)}`,
    `export HF_HUB_CACHE=${shellQuote(c.env.HF_HUB_CACHE)}`,
    ': "${SLURM_ARRAY_TASK_ID:?this script runs one task of a job array: submit it with sbatch, or set SLURM_ARRAY_TASK_ID}"',
    'INDEX=$(( SLURM_ARRAY_TASK_ID + ${ATLAS_TASK_OFFSET:-0} ))',
    `exec >${shellQuote(`${dir}/logs/task-`)}"$INDEX".log 2>&1`,
    `exec ${shellQuote(c.node)} ${shellQuote(c.bin)} sweep task ${shellQuote(dir)} --index "$INDEX"`,
    '',
  ].join('\n');
}
