// The vector calls of the AtlasApi (issue 11) over the open project: the saved-vector library
// (main/vectors/library.ts), making a vector from the project's datasets, the live preview on a
// warm session, continuations and the timeline over checkpoints. Long calls run under a request
// id (main/vectors/requests.ts): a newer call of the same id supersedes the older one.

import type {
  ContinueVectorArgs,
  MakeVectorArgs,
  PreviewVectorArgs,
  VectorContinuations,
  VectorDraft,
  VectorPreview,
  VectorTimeline,
  VectorTimelineArgs,
} from '../../preload/api.ts';
import type { Project } from '../library/project.ts';
import { VectorRequests } from '../vectors/requests.ts';

export interface VectorServiceEnv {
  project(): Project;
  /** The settings' defaults for data passes. */
  defaults(): { n: number; seqLen: number; prependBos: boolean; tokenizer: string | null };
  progress(requestId: string, done: number, total: number, message: string): void;
}

export class VectorService {
  readonly requests = new VectorRequests();

  constructor(private readonly env: VectorServiceEnv) {}

  makeVector(a: MakeVectorArgs): Promise<VectorDraft> {
    return this.requests.run(a.requestId ?? 'make', () =>
      Promise.reject(new Error('makeVector: not built yet')),
    );
  }

  previewVector(a: PreviewVectorArgs): Promise<VectorPreview> {
    return this.requests.run(a.requestId ?? 'preview', () =>
      Promise.reject(new Error('previewVector: not built yet')),
    );
  }

  continueVector(a: ContinueVectorArgs): Promise<VectorContinuations> {
    return this.requests.run(a.requestId ?? 'continue', () =>
      Promise.reject(new Error('continueVector: not built yet')),
    );
  }

  vectorTimeline(a: VectorTimelineArgs): Promise<VectorTimeline> {
    return this.requests.run(a.requestId ?? 'timeline', () =>
      Promise.reject(new Error('vectorTimeline: not built yet')),
    );
  }

  cancel(requestId: string): boolean {
    return this.requests.cancel(requestId);
  }

  /** Drops warm sessions (the project closed or the engine stops). */
  async dispose(): Promise<void> {
    this.requests.cancelAll();
  }
}
