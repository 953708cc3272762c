// A serial job queue: one job runs at a time (onnxruntime-node must have one owner; DESIGN.md
// "Processes", onnxruntime #24486, #20084), the others wait in order. Each job gets an AbortSignal;
// cancelling a queued job drops it, cancelling a running one aborts its signal. A job can also be
// stopped as "paused" (downloads keep their partial file) and put back in line later. Failures are
// values: the queue records them on the job and moves on; it never throws at its caller. `JobBoard`
// is the bookkeeping over one queue that the download and run managers share.

import type { ApiError, JobState } from '../../preload/api.ts';
import { toApiError } from '../api-result.ts';
import { AtlasFailure } from '../failures.ts';

export interface QueueJob {
  readonly id: string;
  state: JobState;
  error?: unknown;
}

type Work = (signal: AbortSignal) => Promise<void>;

const FINISHED: readonly JobState[] = ['done', 'error', 'cancelled'];

interface Entry {
  job: QueueJob;
  work: Work;
  controller: AbortController | null;
  /** What the job becomes when its running work is aborted. */
  stopAs: 'cancelled' | 'paused';
}

export class SerialQueue {
  private readonly entries = new Map<string, Entry>();
  private readonly waiting: string[] = [];
  private running: Entry | null = null;
  private idleWaiters: (() => void)[] = [];

  /** `onChange` is told after every state change of a job (for progress events). */
  constructor(private readonly onChange: (job: QueueJob) => void) {}

  add(job: QueueJob, work: Work): void {
    job.state = 'queued';
    this.entries.set(job.id, { job, work, controller: null, stopAs: 'cancelled' });
    this.waiting.push(job.id);
    this.onChange(job);
    this.pump();
  }

  get(id: string): QueueJob | undefined {
    return this.entries.get(id)?.job;
  }

  /** Stops a job: dropped when queued, aborted when running. Returns false for unknown or finished jobs. */
  stop(id: string, as: 'cancelled' | 'paused' = 'cancelled'): boolean {
    const e = this.entries.get(id);
    if (!e) return false;
    const { job } = e;
    if (job.state === 'queued') {
      this.waiting.splice(this.waiting.indexOf(id), 1);
      job.state = as;
      this.onChange(job);
      return true;
    }
    if (job.state === 'paused' && as === 'cancelled') {
      job.state = 'cancelled';
      this.onChange(job);
      return true;
    }
    if (job.state === 'running' && e.controller) {
      e.stopAs = as;
      e.controller.abort();
      return true;
    }
    return false;
  }

  /** Drops a finished job (done, failed or cancelled) from the queue's memory; false otherwise. */
  forget(id: string): boolean {
    const e = this.entries.get(id);
    if (!e || !FINISHED.includes(e.job.state)) return false;
    this.entries.delete(id);
    return true;
  }

  /** Puts a paused job back in line. */
  resume(id: string): boolean {
    const e = this.entries.get(id);
    if (!e || e.job.state !== 'paused') return false;
    e.job.state = 'queued';
    e.stopAs = 'cancelled';
    this.waiting.push(id);
    this.onChange(e.job);
    this.pump();
    return true;
  }

  /** Resolves when nothing runs and nothing waits. */
  idle(): Promise<void> {
    if (!this.running && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Aborts everything (engine shutdown). */
  stopAll(): void {
    for (const id of [...this.waiting]) this.stop(id);
    if (this.running) this.stop(this.running.job.id);
  }

  private pump(): void {
    if (this.running) return;
    const id = this.waiting.shift();
    if (id === undefined) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
      return;
    }
    const e = this.entries.get(id);
    if (!e) return this.pump();
    this.running = e;
    e.controller = new AbortController();
    e.job.state = 'running';
    e.job.error = undefined;
    this.onChange(e.job);
    const signal = e.controller.signal;
    void (async () => {
      try {
        await e.work(signal);
        // Work that finished did its job even when a stop came too late to interrupt it (a run
        // already stored complete, a download already whole): the job says so, never "cancelled".
        e.job.state = 'done';
      } catch (err) {
        if (signal.aborted) e.job.state = e.stopAs;
        else {
          e.job.state = 'error';
          e.job.error = err;
        }
      }
      e.controller = null;
      this.running = null;
      this.onChange(e.job);
      this.pump();
    })();
  }
}

/**
 * Jobs of one kind by id over one SerialQueue: the bookkeeping the download and run managers share
 * (ids, listing, look-up, cancel, the error a failed job shows). Subclasses say how a job looks to
 * the UI (`view`) and what a state change announces (`changed`).
 */
export abstract class JobBoard<J extends QueueJob, V> {
  protected readonly jobs = new Map<string, J>();
  protected readonly queue = new SerialQueue((j) => this.changed(j as J));
  private next = 1;

  /** `prefix` starts job ids (`dl-1`); `noun` names a job in messages ("No download dl-9."). */
  constructor(
    private readonly prefix: string,
    private readonly noun: string,
  ) {}

  protected abstract view(job: J): V;
  protected abstract changed(job: J): void;

  protected newId(): string {
    return `${this.prefix}-${this.next++}`;
  }

  list(): V[] {
    return [...this.jobs.values()].map((j) => this.view(j));
  }

  /** Forgets every finished, failed and cancelled job; returns the jobs left. */
  clearFinished(): V[] {
    for (const id of [...this.jobs.keys()]) if (this.queue.forget(id)) this.jobs.delete(id);
    return this.list();
  }

  cancel(id: string): V {
    const job = this.get(id);
    this.queue.stop(id, 'cancelled');
    return this.view(job);
  }

  protected get(id: string): J {
    const j = this.jobs.get(id);
    if (!j) throw new AtlasFailure('not-found', `No ${this.noun} ${id}.`);
    return j;
  }
}

/** The error a job shows: its failure as an ApiError, only once it has failed. */
export function jobError(job: QueueJob): { error?: ApiError } {
  return job.state === 'error' && job.error !== undefined ? { error: toApiError(job.error) } : {};
}

/** A progress throttle: true at most once per `ms` (always when `force`). */
export function throttle(ms: number): (force?: boolean) => boolean {
  let last = 0;
  return (force = false) => {
    const now = Date.now();
    if (!force && now - last < ms) return false;
    last = now;
    return true;
  };
}
