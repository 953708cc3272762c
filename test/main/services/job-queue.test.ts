// The serial job queue: one job at a time in order, cancel of queued and running jobs, pause and
// resume, failures recorded as values while the queue moves on.

import { describe, expect, it } from 'vitest';
import { SerialQueue, type QueueJob } from '../../../main/services/job-queue.ts';

const tick = () => new Promise((r) => setTimeout(r, 0));

/** A job whose work waits until released (or aborted). */
function gate() {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const work = (signal: AbortSignal) =>
    new Promise<void>((resolve, reject) => {
      signal.addEventListener('abort', () => {
        const e = new Error('aborted');
        e.name = 'AbortError';
        reject(e);
      });
      void released.then(resolve);
    });
  return { release, work };
}

describe('SerialQueue', () => {
  it('runs one job at a time, in order', async () => {
    const log: string[] = [];
    const q = new SerialQueue((j) => log.push(`${j.id}:${j.state}`));
    const a = gate();
    const b = gate();
    const ja: QueueJob = { id: 'a', state: 'queued' };
    const jb: QueueJob = { id: 'b', state: 'queued' };
    q.add(ja, a.work);
    q.add(jb, b.work);
    await tick();
    expect(ja.state).toBe('running');
    expect(jb.state).toBe('queued');
    a.release();
    await tick();
    await tick();
    expect(ja.state).toBe('done');
    expect(jb.state).toBe('running');
    b.release();
    await q.idle();
    expect(log).toEqual(['a:queued', 'a:running', 'b:queued', 'a:done', 'b:running', 'b:done']);
  });

  it('drops a cancelled queued job and aborts a running one', async () => {
    const q = new SerialQueue(() => undefined);
    const a = gate();
    let bRan = false;
    const ja: QueueJob = { id: 'a', state: 'queued' };
    const jb: QueueJob = { id: 'b', state: 'queued' };
    q.add(ja, a.work);
    q.add(jb, async () => {
      bRan = true;
    });
    expect(q.stop('b')).toBe(true);
    expect(jb.state).toBe('cancelled');
    expect(q.stop('a')).toBe(true);
    await q.idle();
    expect(ja.state).toBe('cancelled');
    expect(bRan).toBe(false);
    expect(q.stop('a')).toBe(false);
    expect(q.stop('nope')).toBe(false);
  });

  it('pauses a running job and runs it again on resume', async () => {
    const q = new SerialQueue(() => undefined);
    let runs = 0;
    const first = gate();
    const job: QueueJob = { id: 'd', state: 'queued' };
    q.add(job, (signal) => {
      runs++;
      return runs === 1 ? first.work(signal) : Promise.resolve();
    });
    await tick();
    q.stop('d', 'paused');
    await q.idle();
    expect(job.state).toBe('paused');
    expect(q.resume('d')).toBe(true);
    await q.idle();
    expect(job.state).toBe('done');
    expect(runs).toBe(2);
  });

  it('records a failure on the job and carries on', async () => {
    const q = new SerialQueue(() => undefined);
    const bad: QueueJob = { id: 'bad', state: 'queued' };
    const good: QueueJob = { id: 'good', state: 'queued' };
    q.add(bad, async () => {
      throw new Error('boom');
    });
    q.add(good, async () => undefined);
    await q.idle();
    expect(bad.state).toBe('error');
    expect((bad.error as Error).message).toBe('boom');
    expect(good.state).toBe('done');
  });
});
