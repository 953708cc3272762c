// The live preview's request sequencer (renderer/src/lib/latest.ts), over a fake timer and
// promises the test settles by hand (no wall clock): an edit while nothing is in flight is sent at
// once, edits while one is in flight only as the burst's last arguments, after the debounce or as
// soon as the flight lands; an answer to a superseded request is never delivered, whatever
// order the answers come in; a superseded request's 'cancelled' failure is silent while the
// newest request's failure is reported; cancel() drops what is waiting or in flight.

import { describe, expect, it } from 'vitest';
import { Latest } from '../../../renderer/src/lib/latest.ts';

/** A hand-driven timer: `tick()` fires what is scheduled. */
function fakeTimer() {
  let next = 1;
  const due = new Map<number, () => void>();
  return {
    set: (fn: () => void) => {
      const h = next++;
      due.set(h, fn);
      return h;
    },
    clear: (h: unknown) => void due.delete(h as number),
    tick() {
      const fns = [...due.values()];
      due.clear();
      for (const f of fns) f();
    },
    get size() {
      return due.size;
    },
  };
}

/** A send() whose answers the test resolves or rejects by hand. */
function handSend() {
  const calls: { args: number; resolve: (v: string) => void; reject: (e: unknown) => void }[] = [];
  const send = (args: number) =>
    new Promise<string>((resolve, reject) => calls.push({ args, resolve, reject }));
  return { calls, send };
}

const flush = () => new Promise<void>((r) => setImmediate(r));

function setup() {
  const timer = fakeTimer();
  const { calls, send } = handSend();
  const results: [string, number][] = [];
  const errors: [unknown, number][] = [];
  const pending: boolean[] = [];
  const latest = new Latest<number, string>(send, {
    delayMs: 100,
    timer,
    onResult: (r, a) => results.push([r, a]),
    onError: (e, a) => errors.push([e, a]),
    onPending: (p) => pending.push(p),
    isCancelled: (e) => e === 'cancelled',
  });
  return { timer, calls, results, errors, pending, latest };
}

describe('latest-only preview requests', () => {
  it('sends a lone edit at once and debounces a burst behind a request in flight', async () => {
    const t = setup();
    t.latest.request(1);
    expect(t.calls.map((c) => c.args)).toEqual([1]);
    for (const a of [2, 3]) t.latest.request(a);
    expect(t.calls).toHaveLength(1);
    t.timer.tick();
    expect(t.calls.map((c) => c.args)).toEqual([1, 3]);
    t.calls[0].resolve('one');
    t.calls[1].resolve('three');
    await flush();
    expect(t.results).toEqual([['three', 3]]);
    expect(t.pending).toEqual([true, false]);
    expect(t.latest.busy).toBe(false);
    // Nothing in flight: at once again.
    t.latest.request(4);
    expect(t.calls.map((c) => c.args)).toEqual([1, 3, 4]);
    // Behind a flight: sent as soon as the flight lands, before the debounce ends.
    t.latest.request(5);
    t.latest.request(6);
    expect(t.calls).toHaveLength(3);
    t.calls[2].resolve('four');
    await flush();
    expect(t.calls.map((c) => c.args)).toEqual([1, 3, 4, 6]);
    expect(t.timer.size).toBe(0);
    t.calls[3].resolve('six');
    await flush();
    expect(t.results).toEqual([
      ['three', 3],
      ['six', 6],
    ]);
  });

  it('never delivers a superseded answer, in either order of arrival', async () => {
    const t = setup();
    t.latest.request(1);
    t.latest.request(2);
    t.timer.tick();
    expect(t.calls.map((c) => c.args)).toEqual([1, 2]);
    // The newer answer first, then the older: only the newer is shown.
    t.calls[1].resolve('two');
    await flush();
    t.calls[0].resolve('one');
    await flush();
    expect(t.results).toEqual([['two', 2]]);

    t.latest.request(3);
    t.timer.tick();
    t.latest.request(4);
    t.timer.tick();
    expect(t.calls.map((c) => c.args)).toEqual([1, 2, 3, 4]);
    // The older answer first: dropped; the state stays pending until the newest answers.
    t.calls[2].resolve('three');
    await flush();
    expect(t.results).toEqual([['two', 2]]);
    expect(t.latest.busy).toBe(true);
    t.calls[3].resolve('four');
    await flush();
    expect(t.results).toEqual([
      ['two', 2],
      ['four', 4],
    ]);
  });

  it('is silent about a superseded request and reports the newest failure', async () => {
    const t = setup();
    t.latest.request(1);
    t.latest.request(2);
    t.timer.tick();
    t.calls[0].reject('cancelled');
    t.calls[1].reject(new Error('bad prompt'));
    await flush();
    expect(t.errors.map(([e, a]) => [(e as Error).message, a])).toEqual([['bad prompt', 2]]);
    // The newest request cancelled (e.g. the engine's own cancel): not an error either.
    t.latest.request(5);
    t.timer.tick();
    expect(t.calls.map((c) => c.args)).toEqual([1, 2, 5]);
    t.calls[2].reject('cancelled');
    await flush();
    expect(t.errors).toHaveLength(1);
    expect(t.latest.busy).toBe(false);
  });

  it('sends at once with no delay, and cancel() drops what is waiting or in flight', async () => {
    const t = setup();
    t.latest.request(7, 0);
    expect(t.calls.map((c) => c.args)).toEqual([7]);
    t.latest.cancel();
    t.calls[0].resolve('seven');
    t.latest.request(8);
    t.latest.cancel();
    expect(t.timer.size).toBe(0);
    t.timer.tick();
    await flush();
    expect(t.results).toEqual([]);
    expect(t.calls).toHaveLength(1);
    expect(t.latest.busy).toBe(false);
  });
});
