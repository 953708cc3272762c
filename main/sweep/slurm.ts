// Talking to Slurm through its own commands (sbatch, squeue, sacct; https://slurm.schedmd.com/),
// the way a researcher would on the login node: nothing home-made schedules anything. The parsers
// are pure functions of the commands' text output (tested on recorded lines); the calls run the
// tools with a time limit and say in one sentence when a tool is missing.

import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { AtlasError } from '../errors.ts';

/** The absolute path of an executable on PATH, or null. */
export function findTool(name: string, path = process.env.PATH ?? ''): string | null {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return null;
}

/** Throws the "sbatch is missing" sentence, with the --dry-run hint. */
export function requireSbatch(): string {
  const p = findTool('sbatch');
  if (p === null)
    throw new AtlasError(
      'sbatch was not found on PATH, so the sweep cannot be submitted to Slurm (nothing was written or submitted).',
      'Run this on a Slurm login node; use --dry-run to print the job script, or leave out --slurm to run the tasks on this machine.',
    );
  return p;
}

function run(
  tool: string,
  args: string[],
  input?: string,
): { status: number | null; out: string; err: string } {
  const r = spawnSync(tool, args, { input, encoding: 'utf8', timeout: 60_000 });
  if (r.error) return { status: null, out: '', err: r.error.message };
  return { status: r.status, out: r.stdout, err: r.stderr };
}

/** `sbatch --test-only` on the script text: Slurm's own check of the script and its options. */
export function sbatchTestOnly(script: string, args: string[] = []): { ok: boolean; message: string } {
  const r = run(requireSbatch(), ['--test-only', ...args], script);
  return { ok: r.status === 0, message: (r.err || r.out).trim() };
}

/** `sbatch --parsable ARGS SCRIPT` -> the job id (`1234`, or `1234;cluster` -> `1234`). */
export function sbatchSubmit(scriptPath: string, args: string[]): string {
  const r = run(requireSbatch(), ['--parsable', ...args, scriptPath]);
  if (r.status !== 0) {
    const why = (r.err || r.out).trim().split('\n').pop() ?? '';
    throw new AtlasError(`sbatch refused the sweep: ${why || `exit status ${r.status}`}.`);
  }
  return parseSbatchParsable(r.out);
}

export function parseSbatchParsable(out: string): string {
  const id = out.trim().split('\n').pop()?.split(';')[0]?.trim() ?? '';
  if (!/^\d+$/.test(id)) throw new AtlasError(`sbatch answered '${out.trim()}', not a job id.`);
  return id;
}

/** `MaxArraySize = 1001` in `scontrol show config` (array indices must be below it). */
export function parseMaxArraySize(text: string): number | null {
  const m = /^MaxArraySize\s*=\s*(\d+)/m.exec(text);
  return m ? Number(m[1]) : null;
}

/** The cluster's MaxArraySize, or Slurm's default (1001) where scontrol cannot tell. */
export function maxArraySize(): number {
  const tool = findTool('scontrol');
  const r = tool === null ? null : run(tool, ['show', 'config']);
  return (r?.status === 0 ? parseMaxArraySize(r.out) : null) ?? 1001;
}

/** A scheduler's view of one array task. */
export interface QueueEntry {
  job: string;
  task: number;
  state: string;
  reason: string;
}

/**
 * `squeue -h -r -o %i|%T|%r` lines: `12_3|RUNNING|None`, `12_[4-7%2]|PENDING|JobArrayTaskLimit`
 * (a pending range not yet split; -r splits most, not all), `12_5|PENDING|Priority`.
 */
export function parseSqueue(text: string): QueueEntry[] {
  const out: QueueEntry[] = [];
  for (const line of text.split('\n')) {
    const [id, state, reason = ''] = line.trim().split('|');
    if (!id || !state) continue;
    const m = /^(\d+)_(\d+|\[([^\]]+)\])$/.exec(id);
    if (!m) continue;
    const tasks = m[3] !== undefined ? expandArray(m[3]) : [Number(m[2])];
    for (const task of tasks) out.push({ job: m[1], task, state, reason });
  }
  return out;
}

/** `0-3,7%2` -> [0, 1, 2, 3, 7]; steps (`0-9:2`) included. */
export function expandArray(spec: string): number[] {
  const out: number[] = [];
  for (const part of spec.replace(/%\d+$/, '').split(',')) {
    const m = /^(\d+)(?:-(\d+)(?::(\d+))?)?$/.exec(part.trim());
    if (!m) continue;
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    const step = m[3] === undefined ? 1 : Number(m[3]);
    for (let i = a; i <= b; i += step) out.push(i);
  }
  return out;
}

/** `sacct -n -P -X -o JobID,State,ExitCode` lines: `12_3|FAILED|1:0`, `12_4|CANCELLED by 0|0:15`. */
export function parseSacct(text: string): QueueEntry[] {
  const out: QueueEntry[] = [];
  for (const line of text.split('\n')) {
    const [id, state, exit = ''] = line.trim().split('|');
    const m = /^(\d+)_(\d+)$/.exec(id ?? '');
    if (!m || !state) continue;
    out.push({
      job: m[1],
      task: Number(m[2]),
      state: state.split(' ')[0],
      reason: exit ? `exit ${exit}` : '',
    });
  }
  return out;
}

/** squeue's entries for these jobs, or null when squeue is missing or fails. */
export function squeueTasks(jobs: readonly string[]): QueueEntry[] | null {
  const tool = findTool('squeue');
  if (tool === null || jobs.length === 0) return tool === null ? null : [];
  const r = run(tool, ['-h', '-r', '-j', jobs.join(','), '-o', '%i|%T|%r']);
  // A job that left the queue makes squeue answer "Invalid job id specified" with status 1.
  if (r.status !== 0) return /invalid job id/i.test(r.err) ? [] : null;
  return parseSqueue(r.out);
}

/** sacct's entries for these jobs, or null where accounting is off or sacct is missing. */
export function sacctTasks(jobs: readonly string[]): QueueEntry[] | null {
  const tool = findTool('sacct');
  if (tool === null || jobs.length === 0) return null;
  const r = run(tool, ['-n', '-P', '-X', '-j', jobs.join(','), '-o', 'JobID,State,ExitCode']);
  if (r.status !== 0) return null;
  return parseSacct(r.out);
}
