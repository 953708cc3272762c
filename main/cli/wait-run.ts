// Two identical runs started at once: the second does not compute a duplicate. When beginning a
// run is refused because another live process is running the same configuration, the CLI waits
// for that run to end (complete, failed, cancelled, or its process gone) and then asks again, so
// the second run reuses the first one's results (or takes over if it was interrupted).

import { isAtlasError } from '../errors.ts';
import type { Project } from '../library/project.ts';
import { RunInProgressError } from '../library/run-claims.ts';
import { ownerAlive } from '../library/run-owner.ts';

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      reject(Object.assign(new Error('cancelled'), { name: 'AbortError' }));
    });
  });

/** Resolves once run `runId` is no longer running or its owner is gone. */
export async function waitForRun(
  project: Project,
  e: RunInProgressError,
  signal?: AbortSignal,
  pollMs = 1000,
): Promise<void> {
  for (;;) {
    const r = project.run(e.runId);
    if (!r || r.status !== 'running') return;
    const row = project.database
      .prepare('SELECT owner_host, owner_pid, owner_start FROM runs WHERE id = ?')
      .get(e.runId) as
      { owner_host: string | null; owner_pid: number | null; owner_start: string | null } | undefined;
    if (!row || !ownerAlive({ host: row.owner_host, pid: row.owner_pid, start: row.owner_start })) return;
    await sleep(pollMs, signal);
  }
}

/** Runs `attempt`, waiting out identical runs of other processes (`onWait` says so once each). */
export async function withoutDuplicates<T>(
  project: Project,
  attempt: () => Promise<T>,
  onWait: (e: RunInProgressError) => void,
  signal?: AbortSignal,
): Promise<T> {
  for (;;) {
    try {
      return await attempt();
    } catch (e) {
      if (!isAtlasError(e) || !(e instanceof RunInProgressError)) throw e;
      onWait(e);
      await waitForRun(project, e, signal);
    }
  }
}
