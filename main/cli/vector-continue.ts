// `vector apply --prompt TEXT --continue N [--temperature T --seed S]`: the prompt continued N tokens
// (at most 64) without and with the vector, printed side by side (docs/METHODS.md "Steering preview
// and timeline"): greedy at temperature 0 (the default), else sampled from softmax(z / T) by the
// Gumbel-max trick with a seeded generator, the same draws for both rows. It runs on the preview
// engine (main/vectors/preview.ts), the same graph as the editor's continuations. The steer run's
// rows are written by the runner in the transaction that completes the run and its configuration
// hash does not cover continuation settings, so continuations are printed, not stored in the run.

import { AtlasError } from '../errors.ts';
import type { Project } from '../library/project.ts';
import { checkApplication, continuePair, idsText, type Application } from '../vectors/preview.ts';
import { PreviewCache } from '../vectors/preview-cache.ts';
import type { Site } from '../../native-models/neox/sites.ts';
import { GLOBAL_SITES } from '../../native-models/neox/sites.ts';
import { parsePositions } from '../analyses/steer.ts';

export const MAX_CONTINUE = 64;

export interface ContinueOptions {
  steps: number;
  temperature: number;
  seed: number;
}

/** Checks the continuation flags before anything runs; null when --continue is absent. */
export function continueOptions(v: {
  continue?: string;
  temperature?: string;
  seed?: string;
  prompt?: string;
  name: string;
}): ContinueOptions | null {
  if (v.continue === undefined) {
    if (v.temperature !== undefined || v.seed !== undefined)
      throw new AtlasError('--temperature and --seed go with --continue N.');
    return null;
  }
  const steps = Number(v.continue);
  if (!Number.isInteger(steps) || steps < 1 || steps > MAX_CONTINUE)
    throw new AtlasError(`--continue must be an integer from 1 to ${MAX_CONTINUE}, not '${v.continue}'.`);
  if (v.prompt === undefined) throw new AtlasError('--continue needs a --prompt to continue.');
  if (v.name.includes(',')) throw new AtlasError('--continue takes one vector (--name N), not several.');
  const temperature = v.temperature === undefined ? 0 : Number(v.temperature);
  if (
    v.temperature !== undefined &&
    (v.temperature.trim() === '' || !Number.isFinite(temperature) || temperature < 0)
  )
    throw new AtlasError(`--temperature must be a finite number >= 0, not '${v.temperature}'.`);
  const seed = v.seed === undefined ? 0 : Number(v.seed);
  if (!Number.isInteger(seed) || seed < 0 || seed > 2 ** 32 - 1)
    throw new AtlasError(`--seed must be an integer from 0 to 4294967295, not '${v.seed}'.`);
  return { steps, temperature, seed };
}

/** Continues the prompt with and without the vector; returns the lines to print. */
export async function continuationLines(
  project: Project,
  req: {
    model: string;
    revision?: string;
    name: string;
    prompt: string;
    scale: number;
    /** 'all' or comma-separated layers (default: the vector's own). */
    layers?: string;
    positions: string;
    skipFirst: boolean;
    projectOut: boolean;
  },
  o: ContinueOptions,
): Promise<string[]> {
  const v = project.vectorByName(req.name);
  if (!v) throw new AtlasError(`The project has no vector named '${req.name}'.`);
  const cache = new PreviewCache({ device: 'cpu' });
  try {
    const model = await cache.model(req.model, req.revision);
    const site = v.site as Site;
    const a: Application = {
      vector: v.data,
      site,
      layers: GLOBAL_SITES.includes(site)
        ? []
        : req.layers === undefined
          ? v.layer === null
            ? []
            : [v.layer]
          : req.layers.trim() === 'all'
            ? [...Array(model.config.numLayers).keys()]
            : req.layers.split(',').map(Number),
      scale: req.scale,
      positions: { from: parsePositions(req.positions) },
      skipFirst: req.skipFirst,
      mode: req.projectOut ? 'project_out' : 'add',
    };
    checkApplication(model, a);
    const ids = model.tokenizer.encode(req.prompt);
    if (ids.length === 0) throw new AtlasError('The prompt has no token.');
    const session = await cache.session(model, site, a.mode, false);
    const out = await continuePair(session, ids, a, o);
    const how = o.temperature === 0 ? 'greedy' : `sampled at temperature ${o.temperature}, seed ${o.seed}`;
    return [
      `continuations of ${JSON.stringify(req.prompt)} (${out.base.length} tokens, ${how}):`,
      `  base     ${JSON.stringify(idsText(model, out.base))}`,
      `  steered  ${JSON.stringify(idsText(model, out.steered))}`,
    ];
  } finally {
    await cache.dispose();
  }
}
