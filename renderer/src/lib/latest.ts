// The vector editor's live preview as a request sequencer (issue 11 item 4: "a live preview on a
// prompt (debounced, cancellable)"): edits arrive in bursts (a slider dragged, arrow keys held). An
// edit after a quiet spell is sent at once (no wait for a single change); an edit while a request
// is in flight or within `delayMs` of the last send waits until `delayMs` pass without another,
// then only the newest arguments are sent (a burst costs at most its first and last request). A
// newer request supersedes an older one: the engine answers a superseded preview 'cancelled' (the
// call's own contract), and whatever the older one answers here is dropped, so only the answer to
// the newest arguments is ever delivered, with those arguments (the view labels the preview with
// the scale it shows, never the slider's). Plain TypeScript over an injectable timer: tested in Node.

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
  private pending = false;
  /** Requests sent and not answered yet (superseded ones included). */
  private inFlight = 0;
  /** The burst window's timer after the last send (null: quiet). */
  private cooling: unknown = null;
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

  /**
   * Asks for `args`: at once after a quiet spell (or with `delayMs` 0), else after the debounce; any
   * older request, waiting or in flight, is superseded.
   */
  request(args: A, delayMs = this.opts.delayMs): void {
    const mine = ++this.ticket;
    if (this.handle !== null) this.timer.clear(this.handle);
    this.handle = null;
    this.setPending(true);
    const fire = () => {
      this.handle = null;
      if (mine !== this.ticket) return;
      this.inFlight++;
      this.cool(delayMs);
      const settle = () => {
        this.inFlight--;
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
    if (delayMs <= 0 || (this.inFlight === 0 && this.cooling === null)) fire();
    else this.handle = this.timer.set(fire, delayMs);
  }

  /** Marks `delayMs` after a send as the burst window (edits in it are debounced). */
  private cool(delayMs: number): void {
    if (this.cooling !== null) this.timer.clear(this.cooling);
    this.cooling = delayMs > 0 ? this.timer.set(() => (this.cooling = null), delayMs) : null;
  }

  /** Drops whatever is waiting or in flight (its answer will be ignored). */
  cancel(): void {
    this.ticket++;
    if (this.handle !== null) this.timer.clear(this.handle);
    this.handle = null;
    this.setPending(false);
  }

  get busy(): boolean {
    return this.pending;
  }

  private setPending(p: boolean): void {
    if (this.pending === p) return;
    this.pending = p;
    this.opts.onPending?.(p);
  }
}
