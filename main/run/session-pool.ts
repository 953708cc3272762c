// Open ONNX Runtime sessions kept between runs, so that a series of runs over the checkpoints of
// one model (the demo's 15 checkpoints per size; `pythia-atlas run --revision a,b,c`) builds each
// of its passes' sessions once. The engine's graphs take the parameters as inputs (graph-session.ts),
// so the same analyses on the same architecture give the same graph at every checkpoint: a session
// opened for one is moved to the next with `setWeights`, which gives bit for bit what a session
// opened on it gives (test/main/run/weights.test.ts). Opening a session is most of a small model's
// pass: ONNX Runtime optimises the graph (0.1 s for micro-s's first pass, 0.45 s for micro-l's,
// five more passes per run), where the pass itself runs for about as long.
//
// A session is found again by its graph's encoded bytes (sha256) with the device, thread count and
// arena setting, so two passes share one only when they would have built the same session; a pass
// whose graph holds its weights (no parameter inputs), or whose model's weights pass maxWeightBytes,
// is never pooled. Closing a pooled session puts it back; the pool keeps at most `maxIdle` idle ones
// (the least recently used go first) and releases them all on close(). Memory: every idle session
// keeps its arena, so the pool holds the sum of its passes' peaks (the demo's analyses of micro-l:
// peak RSS 653 MiB with the pool).

import { createHash } from 'node:crypto';
import type { Graph } from '../../native-models/graph/ir.ts';
import { serializeModel } from '../../native-models/graph/onnx.ts';
import type { Device } from '../../native-models/runtime/session.ts';
import type { StateDict } from '../../native-models/weights/types.ts';
import { openGraphSession, type GraphSession } from './graph-session.ts';

/** The sessions a pass opens: openGraphSession's signature. */
export type SessionOpener = typeof openGraphSession;

export class SessionPool {
  private readonly maxIdle: number;
  private readonly maxWeightBytes: number;
  /** Idle sessions by key, oldest first (a Map keeps insertion order). */
  private readonly idle = new Map<string, GraphSession[]>();
  private closed = false;
  /** Sessions this pool opened, and the times an idle one served a pass instead. */
  readonly counts = { opened: 0, reused: 0 };

  constructor(o: { maxIdle?: number; maxWeightBytes?: number } = {}) {
    this.maxIdle = o.maxIdle ?? 8;
    this.maxWeightBytes = o.maxWeightBytes ?? DEFAULT_MAX_WEIGHT_BYTES;
  }

  /** openGraphSession through the pool: an idle session of the same graph moved to `weights`, or a new one. */
  readonly open: SessionOpener = async (graph, device, threads, weights, opts = {}) => {
    if (this.closed) throw new Error('the session pool is closed');
    if (!weights || !this.keeps(weightBytes(weights.names, weights.dict)))
      return openGraphSession(graph, device, threads, weights, opts);
    const key = sessionKey(graph, device, threads, opts.memArena);
    const waiting = this.idle.get(key);
    const found = waiting?.pop();
    if (waiting?.length === 0) this.idle.delete(key);
    let inner: GraphSession;
    if (found) {
      found.setWeights(weights.dict);
      inner = found;
      this.counts.reused++;
    } else {
      inner = await openGraphSession(graph, device, threads, weights, opts);
      this.counts.opened++;
    }
    let returned = false;
    return {
      session: inner.session,
      executionProvider: inner.executionProvider,
      run: async (...args) => {
        if (returned) throw new Error('this session went back to its pool');
        return inner.run(...args);
      },
      setWeights: (dict) => inner.setWeights(dict),
      close: async () => {
        if (returned) return;
        returned = true;
        await this.putBack(key, inner);
      },
    };
  };

  /** Whether a pass over a model with this many bytes of weights would be kept (see open). */
  keeps(weightBytes: number): boolean {
    return weightBytes <= this.maxWeightBytes;
  }

  /** Idle sessions held now. */
  get idleCount(): number {
    let n = 0;
    for (const list of this.idle.values()) n += list.length;
    return n;
  }

  /** Releases every idle session; sessions still in use are released when their pass closes them. */
  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.idle.values()].flat();
    this.idle.clear();
    for (const s of all) await s.close();
  }

  private async putBack(key: string, s: GraphSession): Promise<void> {
    if (this.closed) return s.close();
    // Most recently used last: delete and set again moves the key to the end.
    const list = this.idle.get(key) ?? [];
    this.idle.delete(key);
    list.push(s);
    this.idle.set(key, list);
    while (this.idleCount > this.maxIdle) {
      const [oldestKey, oldest] = this.idle.entries().next().value as [string, GraphSession[]];
      const victim = oldest.shift() as GraphSession;
      if (oldest.length === 0) this.idle.delete(oldestKey);
      await victim.close();
    }
  }
}

/**
 * Sessions of models with more weights than this (256 MiB: pythia-70m and up) are not kept: each
 * idle session holds its own memory arena, so keeping a large model's passes would hold the sum of
 * their peaks where one pass at a time holds the largest (README "Scale"), for a saving that is
 * small next to such a model's passes.
 */
export const DEFAULT_MAX_WEIGHT_BYTES = 256 * 1024 * 1024;

function weightBytes(names: readonly string[], dict: StateDict): number {
  let n = 0;
  for (const name of names) n += dict.get(name)?.data.byteLength ?? 0;
  return n;
}

function sessionKey(graph: Graph, device: Device, threads: number | undefined, memArena?: boolean): string {
  const h = createHash('sha256').update(serializeModel(graph));
  return `${h.digest('hex')}|${device}|${threads ?? 'default'}|${memArena === false ? 'no-arena' : 'arena'}`;
}
