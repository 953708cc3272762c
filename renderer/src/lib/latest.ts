// The vector editor's live preview as a request sequencer (issue 11 item 4: "a live preview on a
// prompt (debounced, cancellable)"): edits arrive in bursts (a slider dragged, arrow keys held). An
// edit while nothing is in flight is sent at once (no wait for a single change); edits while a
// request is in flight are debounced: the newest is sent when `delayMs` pass without another edit,
// or as soon as the request in flight answers, whichever comes first, so a burst costs a few
// requests and its last edit is never held back by more than `delayMs`. A newer request supersedes
// an older one: the engine answers a superseded preview 'cancelled' (the call's own contract), and
// whatever the older one answers here is dropped, so only the answer to the newest arguments is
// ever delivered, with those arguments (the view labels the preview with the scale it shows, never
// the slider's). Plain TypeScript over an injectable timer: tested in Node without a wall clock.

export interface LatestOptions<A, R> {
  delayMs: number;
  /** The newest request's answer, with the arguments it answers. */
  onResult: (result: R, args: A) => void;
  /** The newest request failed (a superseded or cancelled one never reaches here). */
  onError: (error: unknown, args: A) => void;
  /** Whether a request is waiting or in flight (for a "updating" mark). */
  onPending?: (pending: boolean) => void;
  /** Whether an error means "superseded" (then it is dropped silently). */
  isCancelled?: (error: unknown) => boolean;
  timer?: {
    set: (fn: () => void, ms: number) => unknown;
    clear: (handle: unknown) => void;
  };
}

export class Latest<A, R> {
  private ticket = 0;
  private handle: unknown = null;
  /** The debounced request waiting for its turn (sent by the timer or when the flight lands). */
  private waiting: (() => void) | null = null;
  private pending = false;
  /** Requests sent and not answered yet (superseded ones included). */
  private inFlight = 0;
  private readonly timer: NonNullable<LatestOptions<A, R>['timer']>;

  constructor(
    private readonly send: (args: A) => Promise<R>,
    private readonly opts: LatestOptions<A, R>,
  ) {
    this.timer = opts.timer ?? {
      set: (fn, ms) => setTimeout(fn, ms),
      clear: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
    };
  }

  /** Asks for `args`: at once when nothing is in flight (or `delayMs` is 0), else debounced. */
  request(args: A, delayMs = this.opts.delayMs): void {
    const mine = ++this.ticket;
    this.clearWaiting();
    this.setPending(true);
    const fire = () => {
      this.clearWaiting();
      if (mine !== this.ticket) return;
      this.inFlight++;
      const settle = () => {
        this.inFlight--;
        // The flight landed: the edit waiting behind it goes now.
        if (this.waiting && this.inFlight === 0) this.waiting();
        return mine === this.ticket;
      };
      this.send(args).then(
        (r) => {
          if (!settle()) return;
          this.setPending(false);
          this.opts.onResult(r, args);
        },
        (e: unknown) => {
          if (!settle()) return;
          this.setPending(false);
          if (!this.opts.isCancelled?.(e)) this.opts.onError(e, args);
        },
      );
    };
    if (delayMs <= 0 || this.inFlight === 0) fire();
    else {
      this.waiting = fire;
      this.handle = this.timer.set(fire, delayMs);
    }
  }

  /** Drops whatever is waiting or in flight (its answer will be ignored). */
  cancel(): void {
    this.ticket++;
    this.clearWaiting();
    this.setPending(false);
  }

  get busy(): boolean {
    return this.pending;
  }

  private clearWaiting(): void {
    if (this.handle !== null) this.timer.clear(this.handle);
    this.handle = null;
    this.waiting = null;
  }

  private setPending(p: boolean): void {
    if (this.pending === p) return;
    this.pending = p;
    this.opts.onPending?.(p);
  }
}
