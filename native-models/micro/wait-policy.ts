// How the trainer's ONNX Runtime worker threads wait between parallel sections, chosen while it
// trains. A training step is ~400 (micro-s) to ~1200 (micro-l) kernels, most of them short, so the
// time a sleeping worker takes to wake up is paid ~1000 times a step: on the quiet 2-vCPU machine
// spinning workers train 1.15-1.25x faster (micro-s 27 -> 22 ms a step, micro-l 153 -> 131 ms).
// But when another process wants a core, spinning workers take it from the thread that has the
// work, and a step takes twice as long as with sleeping workers (micro-s 37 -> 74 ms at load ~1.8;
// issue 14 saw the same for the forward). Neither choice is right on a shared machine, so the
// trainer keeps one session of each kind (same graph, same thread count, so the same kernels and
// partitions: the wait does not enter the arithmetic) and, in every window of updates, times a few
// on each and runs the rest of the window on the faster one.

/** 0: workers sleep (ONNX Runtime intra_op.allow_spinning = 0); 1: workers spin. */
export type WaitArm = 0 | 1;

export interface WaitPolicyOptions {
  /** Updates per window (default 64). */
  window?: number;
  /** Timed updates on each kind at the start of every window (default 2). */
  probes?: number;
}

/**
 * Picks the faster of two kinds of session, window by window: the window's first 2 x probes
 * updates alternate sleep, spin, sleep, spin, ..., the rest run on the kind whose probes took less
 * time in total (sleep on a tie).
 */
export class WaitPolicy {
  private readonly window: number;
  private readonly probes: number;
  private position = 0;
  private readonly spent: [number, number] = [0, 0];
  private chosen: WaitArm = 0;
  /** Updates run on each kind so far (index = arm). */
  readonly counts: [number, number] = [0, 0];

  constructor(o: WaitPolicyOptions = {}) {
    this.window = o.window ?? 64;
    this.probes = o.probes ?? 2;
    if (!Number.isInteger(this.window) || !Number.isInteger(this.probes) || this.probes < 1)
      throw new Error('WaitPolicy: window and probes must be positive integers');
    if (this.window < 2 * this.probes)
      throw new Error(
        `WaitPolicy: a window of ${this.window} cannot hold ${this.probes} probes of each kind`,
      );
  }

  /** The kind the next update runs on. */
  next(): WaitArm {
    return this.position < 2 * this.probes ? ((this.position % 2) as WaitArm) : this.chosen;
  }

  /** Report the update `next()` chose and the milliseconds it took. */
  record(arm: WaitArm, ms: number): void {
    if (arm !== this.next()) throw new Error(`WaitPolicy: update ran on ${arm}, not on ${this.next()}`);
    this.counts[arm]++;
    if (this.position < 2 * this.probes) {
      this.spent[arm] += ms;
      if (this.position === 2 * this.probes - 1) this.chosen = this.spent[1] < this.spent[0] ? 1 : 0;
    }
    this.position++;
    if (this.position === this.window) {
      this.position = 0;
      this.spent[0] = 0;
      this.spent[1] = 0;
    }
  }
}
