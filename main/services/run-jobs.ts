// The run queue: analyses over models x checkpoints x one dataset become one job per (model,
// checkpoint), run one at a time through the runner (main/runner.ts) in this process, the one
// owner of ONNX Runtime sessions. Each job streams throttled progress, can be cancelled (its
// AbortSignal reaches the runner), and keeps its error as a value the UI shows on the job.

import type { QueueRunsArgs, RunJob } from '../../preload/api.ts';
import type { Project } from '../library/project.ts';
import { AtlasFailure } from '../failures.ts';
import { JobBoard, jobError, throttle, type QueueJob } from './job-queue.ts';
import { tokenizersFor } from './run-tokenizers.ts';

const PROGRESS_EVERY_MS = 150;

type Job = RunJob & QueueJob;

export class RunManager extends JobBoard<Job, RunJob> {
  constructor(
    private readonly emitJob: (job: RunJob) => void,
    private readonly runsChanged: () => void,
  ) {
    super('run', 'run job');
  }

  /**
   * Queues one job per (model, revision). Refused as a whole, before any job is queued, when the
   * dataset is missing or a model's tokenizer cannot work (run-tokenizers.ts): the form's or the
   * settings' tokenizer applies only to models without their own.
   */
  async queueRuns(
    project: Project,
    args: QueueRunsArgs,
    defaults: { tokenizer: string | null },
  ): Promise<RunJob[]> {
    if (!project.dataset(args.datasetId))
      throw new AtlasFailure('not-found', `The project has no dataset ${args.datasetId}.`);
    const tokenizers = await tokenizersFor(args.models, args.tokenizer?.trim() || defaults.tokenizer);
    const out: RunJob[] = [];
    for (const model of args.models) {
      const own = args.revisionsByModel?.[model] ?? args.revisions;
      const revisions = own.length > 0 ? own : [null];
      for (const revision of revisions) {
        const job: Job = {
          id: this.newId(),
          model,
          revision: revision ?? 'main',
          datasetId: args.datasetId,
          analyses: [...args.analyses],
          state: 'queued',
          progress: null,
          runId: null,
          reused: false,
          queuedAt: new Date().toISOString(),
        };
        this.jobs.set(job.id, job);
        this.queue.add(job, (signal) =>
          this.work(project, job, args, revision, tokenizers.get(model), signal),
        );
        out.push(this.view(job));
      }
    }
    return out;
  }

  /** Cancels everything and waits until the running job has stopped (before a project closes). */
  async stopAll(): Promise<void> {
    this.queue.stopAll();
    await this.queue.idle();
  }

  private async work(
    project: Project,
    job: Job,
    args: QueueRunsArgs,
    revision: string | null,
    tokenizer: string | undefined,
    signal: AbortSignal,
  ): Promise<void> {
    const due = throttle(PROGRESS_EVERY_MS);
    // Loaded on first use: ONNX Runtime and the model code stay out of engine start-up.
    const { runAnalyses } = await import('../runner.ts');
    const outcome = await runAnalyses(
      project,
      {
        model: job.model,
        ...(revision !== null ? { revision } : {}),
        dataset: { datasetId: args.datasetId },
        analyses: args.analyses,
        n: args.n,
        seqLen: args.seqLen,
        batchSize: args.batchSize,
        device: args.device,
        prependBos: args.prependBos,
        ...(tokenizer ? { tokenizer } : {}),
        lossOn: args.lossOn,
        ...(args.options ? { options: { ...args.options } } : {}),
      },
      {
        signal,
        onProgress: (p) => {
          // A new phase is always shown (loading and building are short but must not look blank).
          const phaseChanged = job.progress?.phase !== p.phase;
          job.progress = { ...p };
          if (due(phaseChanged)) this.emitJob(this.view(job));
        },
      },
    );
    job.runId = outcome.runId;
    job.reused = outcome.reused;
  }

  protected changed(job: Job): void {
    if (job.state === 'running') {
      job.startedAt = new Date().toISOString();
      job.finishedAt = undefined;
    } else if (job.state !== 'queued') job.finishedAt = new Date().toISOString();
    this.emitJob(this.view(job));
    if (job.state === 'done' || job.state === 'error' || job.state === 'cancelled') this.runsChanged();
  }

  protected view(j: Job): RunJob {
    return {
      id: j.id,
      model: j.model,
      revision: j.revision,
      datasetId: j.datasetId,
      analyses: j.analyses,
      state: j.state,
      progress: j.progress,
      runId: j.runId,
      reused: j.reused,
      queuedAt: j.queuedAt,
      ...(j.startedAt ? { startedAt: j.startedAt } : {}),
      ...(j.finishedAt ? { finishedAt: j.finishedAt } : {}),
      ...jobError(j),
    };
  }
}
