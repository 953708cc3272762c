// Who owns a running run, and whether that owner is still alive. An owner is the host name, the
// pid and the process's start time (Linux: field 22 of /proc/<pid>/stat, in clock ticks since
// boot), so a pid the kernel reused for another process does not keep a dead run 'running'. On
// another host nothing can be checked, so such a run is taken to be alive (never stolen).

import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

export interface RunOwner {
  host: string;
  pid: number;
  /** The process start time where the OS tells it ('' elsewhere). */
  start: string;
}

/** Start time of process `pid` in clock ticks since boot (Linux), '' if unknown, null if gone. */
export function processStart(pid: number): string | null {
  if (process.platform !== 'linux') return '';
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? ''; // field 22 overall; fields[0] is field 3
  } catch {
    return null;
  }
}

let self: RunOwner | null = null;

/** This process as an owner. */
export function currentOwner(): RunOwner {
  self ??= { host: hostname(), pid: process.pid, start: processStart(process.pid) ?? '' };
  return self;
}

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by another user
  }
}

/** Whether `owner` (a run row's) is alive; owners on other hosts count as alive. */
export function ownerAlive(owner: {
  host: string | null;
  pid: number | null;
  start: string | null;
}): boolean {
  if (owner.host === null || owner.pid === null) return false; // a row from before owners: no process
  if (owner.host !== currentOwner().host) return true;
  if (!Number.isSafeInteger(owner.pid) || owner.pid <= 0 || !pidExists(owner.pid)) return false;
  const start = processStart(owner.pid);
  if (start === null) return false;
  return owner.start === null || owner.start === '' || start === '' || start === owner.start;
}
