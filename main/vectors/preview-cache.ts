// The warm state behind the live preview (main/vectors/preview.ts): loaded models and their
// preview sessions, least recently used first out, so moving the scale slider reuses one session
// (no model load, no graph build) and switching back and forth between two vectors, sites or
// modes stays warm. At most MAX_MODELS models (a model's weights are the large part) and
// MAX_SESSIONS sessions are kept; evicting a model closes its sessions.

import type { Site } from '../../native-models/neox/sites.ts';
import type { Device } from '../../native-models/runtime/session.ts';
import { loadModel, type LoadedModel } from '../load-model.ts';
import { PreviewSession, type PreviewMode } from './preview.ts';

const MAX_MODELS = 2;
const MAX_SESSIONS = 4;

export class PreviewCache {
  private readonly models = new Map<string, Promise<LoadedModel>>();
  private readonly sessions = new Map<string, Promise<PreviewSession>>();
  /** Graph builds so far (tests and the bench: a warm call builds none). */
  builds = 0;
  /** Forwards run so far over every session (tests: a superseded call runs none). */
  forwards = 0;

  constructor(private readonly opts: { device?: Device; threads?: number } = {}) {}

  /** The loaded model (kept; the most recently used last). */
  model(spec: string, revision?: string, tokenizer?: string): Promise<LoadedModel> {
    const key = JSON.stringify([spec, revision ?? null, tokenizer ?? null]);
    let p = this.models.get(key);
    if (p) this.models.delete(key);
    else {
      p = loadModel(spec, { revision, tokenizer });
      p.catch(() => this.models.delete(key));
    }
    this.models.set(key, p);
    while (this.models.size > MAX_MODELS) {
      const oldest = this.models.keys().next().value as string;
      const gone = this.models.get(oldest)!;
      this.models.delete(oldest);
      void gone.then((m) => this.closeWhere((k) => k.startsWith(this.modelPrefix(m)))).catch(() => undefined);
    }
    return p;
  }

  /** Whether a session for these is open (or opening). */
  has(model: LoadedModel, site: Site, mode: PreviewMode, lens: boolean): boolean {
    return this.sessions.has(this.key(model, site, mode, lens));
  }

  session(model: LoadedModel, site: Site, mode: PreviewMode, lens: boolean): Promise<PreviewSession> {
    const key = this.key(model, site, mode, lens);
    let p = this.sessions.get(key);
    if (p) this.sessions.delete(key);
    else {
      this.builds++;
      p = PreviewSession.open(model, site, mode, lens, this.opts.device ?? 'cpu', this.opts.threads, () => {
        this.forwards++;
      });
      p.catch(() => this.sessions.delete(key));
    }
    this.sessions.set(key, p);
    while (this.sessions.size > MAX_SESSIONS) {
      const oldest = this.sessions.keys().next().value as string;
      const s = this.sessions.get(oldest)!;
      this.sessions.delete(oldest);
      void s.then((x) => x.close()).catch(() => undefined);
    }
    return p;
  }

  private key(model: LoadedModel, site: Site, mode: PreviewMode, lens: boolean): string {
    return `${this.modelPrefix(model)}${JSON.stringify([site, mode, lens])}`;
  }

  private modelPrefix(model: LoadedModel): string {
    return JSON.stringify([model.name, model.revision, model.fingerprint]);
  }

  private async closeWhere(pred: (key: string) => boolean): Promise<void> {
    for (const [k, p] of [...this.sessions]) {
      if (!pred(k)) continue;
      this.sessions.delete(k);
      await p.then((s) => s.close()).catch(() => undefined);
    }
  }

  async dispose(): Promise<void> {
    await this.closeWhere(() => true);
    this.models.clear();
  }
}
