// Supersession and cancelling of the long vector calls (makeVector, previewVector, continueVector,
// vectorTimeline): each runs under a request id; starting another call with the same id aborts the
// older one, which then rejects with an AbortError (code 'cancelled' at the API) and does no
// further work, because every step checks its signal before it starts. Deterministic: a superseded
// call is aborted when the newer one begins, never by a timer.

import { abortError } from '../run/graph-session.ts';

export class VectorRequests {
  private readonly live = new Map<string, AbortController>();

  /**
   * Runs `work` under `id`, aborting the call that held it. The signal passed in is aborted when a
   * newer call of the same id starts or `cancel(id)` is called.
   */
  async run<T>(id: string, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    this.live.get(id)?.abort();
    const ctl = new AbortController();
    this.live.set(id, ctl);
    try {
      const out = await work(ctl.signal);
      if (ctl.signal.aborted) throw abortError();
      return out;
    } finally {
      if (this.live.get(id) === ctl) this.live.delete(id);
    }
  }

  /** Aborts the call running under `id`; true when there was one. */
  cancel(id: string): boolean {
    const ctl = this.live.get(id);
    if (!ctl) return false;
    ctl.abort();
    this.live.delete(id);
    return true;
  }

  cancelAll(): void {
    for (const ctl of this.live.values()) ctl.abort();
    this.live.clear();
  }
}

/** Throws the AbortError when the signal is aborted (call before each step of a long call). */
export function checkSignal(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError();
}
