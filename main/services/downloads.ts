// The download manager: checkpoints fetched into the Hugging Face cache one at a time
// (native-models/hub/download.ts resumes from `.incomplete` blobs), with progress, pause (stop and
// keep the partial file), resume (start again; the transfer resumes) and cancel. Progress events
// are throttled so a fast link does not flood the UI.

import type { DownloadJob } from '../../preload/api.ts';
import { AtlasError } from '../errors.ts';
import { findSuiteModel } from '../../native-models/hub/catalogue.ts';
import { ensureCheckpoint } from '../../native-models/hub/download.ts';
import { JobBoard, jobError, throttle, type QueueJob } from './job-queue.ts';

const PROGRESS_EVERY_MS = 200;

type Job = DownloadJob & QueueJob;

export class DownloadManager extends JobBoard<Job, DownloadJob> {
  constructor(
    private readonly emit: (job: DownloadJob) => void,
    private readonly cacheDir?: string,
    /** Called after each finished download (the cache's disk budget evicts to its cap). */
    private readonly afterDownload?: () => Promise<unknown>,
  ) {
    super('dl', 'download');
  }

  start(model: string, revision: string): DownloadJob {
    const m = findSuiteModel(model);
    if (!m || !m.repo) throw new AtlasError(`${model} is not a model the hub has.`, 'Pick a Pythia model.');
    const same = [...this.jobs.values()].find(
      (j) =>
        j.model === m.name && j.revision === revision && ['queued', 'running', 'paused'].includes(j.state),
    );
    if (same) return this.view(same);
    const repo = m.repo;
    const job: Job = {
      id: this.newId(),
      model: m.name,
      revision,
      state: 'queued',
      bytesDone: 0,
      bytesTotal: null,
    };
    this.jobs.set(job.id, job);
    this.queue.add(job, async (signal) => {
      const due = throttle(PROGRESS_EVERY_MS);
      await ensureCheckpoint({
        repo,
        revision,
        cacheDir: this.cacheDir,
        signal,
        onProgress: (p) => {
          job.bytesDone = p.bytes;
          job.bytesTotal = p.total || null;
          if (due(p.done)) this.emit(this.view(job));
        },
      });
      await this.afterDownload?.();
    });
    return this.view(job);
  }

  pause(id: string): DownloadJob {
    const job = this.get(id);
    this.queue.stop(id, 'paused');
    return this.view(job);
  }

  resume(id: string): DownloadJob {
    const job = this.get(id);
    if (job.state === 'error' || job.state === 'cancelled') {
      this.jobs.delete(id);
      return this.start(job.model, job.revision);
    }
    this.queue.resume(id);
    return this.view(job);
  }

  stopAll(): void {
    this.queue.stopAll();
  }

  protected changed(job: Job): void {
    this.emit(this.view(job));
  }

  protected view(j: Job): DownloadJob {
    return {
      id: j.id,
      model: j.model,
      revision: j.revision,
      state: j.state,
      bytesDone: j.bytesDone,
      bytesTotal: j.bytesTotal,
      ...jobError(j),
    };
  }
}
