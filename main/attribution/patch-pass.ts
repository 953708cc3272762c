// Real activation patching, batched (docs/METHODS.md "Activation patching"; Zhang & Nanda 2024):
// one batch per task and chunk of cells. Row 0 runs the source prompt (clean, or corrupt when
// reversed), row 1 the base prompt unpatched, rows 2..C+1 the base prompt each patched at one cell
// with row 0's activation, copied inside the graph by a `mix` intervention at every patched site
// and layer (native-models/neox/interventions/mix.ts), so no activation leaves the graph and C
// patched runs share one batch. The read-out is the candidates' logits at the last position
// (neox/hooks/last-position.ts). Chunks are the pass's variants; a task only gets the cells its
// length reaches.

import { CANDIDATE_LOGITS, lastPositionHook } from '../../native-models/neox/hooks/last-position.ts';
import { mix } from '../../native-models/neox/interventions/mix.ts';
import type { Intervention } from '../../native-models/neox/intervention.ts';
import type { NeoxConfig } from '../../native-models/neox/config.ts';
import type { ExtraPass } from '../analyses/types.ts';
import { CellTally, reaches, type Cell } from './cells.ts';
import type { Task } from './tasks.ts';

export interface PatchPassOptions {
  reverse: boolean;
  /** Patched copies per batch. */
  cellsPerBatch: number;
  /**
   * How far each patched copy moves toward the source (default 1, patching; a small +-alpha gives
   * the finite differences AtP is checked against).
   */
  alpha?: number;
}

/** The logit difference of each row from the candidates' logits [B, K]. */
export function rowDiffs(
  z: Float32Array,
  K: number,
  rows: { answer: number; distractor: number }[],
  col: Map<number, number>,
): number[] {
  return rows.map((t, r) => z[r * K + col.get(t.answer)!] - z[r * K + col.get(t.distractor)!]);
}

export interface PatchResult {
  tally: CellTally;
  /** Each task's logit difference on the clean and on the corrupt prompt (real runs). */
  clean: Float64Array;
  corrupt: Float64Array;
}

export function patchPass(
  cfg: NeoxConfig,
  tasks: readonly Task[],
  cells: readonly Cell[],
  candidates: readonly number[],
  o: PatchPassOptions,
): { pass: ExtraPass; result: PatchResult } {
  const C = o.cellsPerBatch;
  const rowsPer = C + 2;
  const K = candidates.length;
  const col = new Map(candidates.map((id, k) => [id, k]));
  // The cells each task reaches, in order: variant v patches valid[i][v*C .. v*C + C).
  const valid = tasks.map((t) =>
    cells.map((c, i) => (reaches(c, t.clean.length) ? i : -1)).filter((i) => i >= 0),
  );
  const variants = Math.max(1, Math.ceil(Math.max(...valid.map((v) => v.length)) / C));
  const result: PatchResult = {
    tally: new CellTally(cells),
    clean: new Float64Array(tasks.length),
    corrupt: new Float64Array(tasks.length),
  };
  const inputs = tasks.flatMap((t) => {
    const [src, base] = o.reverse ? [t.corrupt, t.clean] : [t.clean, t.corrupt];
    return [{ ids: src }, ...Array.from({ length: C + 1 }, () => ({ ids: base }))];
  });
  const taskOf = (seq: number) => Math.floor(seq / rowsPer);
  const H = cfg.numHeads;
  const groups = new Map<string, Cell[]>();
  for (const c of cells) groups.set(`${c.site}/${c.layer}`, []);
  const interventions: Intervention[] = [...groups.keys()].map((key) => {
    const [site, layerText] = key.split('/') as [Cell['site'], string];
    const layer = Number(layerText);
    return mix({
      site,
      layer,
      id: 'patch',
      groups: site === 'z' ? H : 1,
      heads: H,
      fill(batch, variant, _source, weight) {
        const { B, T } = batch;
        const task = taskOf(batch.sequenceIndex[0]);
        const mine = valid[task];
        const len = batch.lengths[0];
        const w = o.alpha ?? 1;
        for (let r = 2; r < B; r++) {
          const slot = variant * C + (r - 2);
          if (slot >= mine.length) continue;
          const c = cells[mine[slot]];
          if (c.site !== site || c.layer !== layer) continue;
          if (site === 'z') for (let t = 0; t < len; t++) weight[(r * T + t) * H + c.head!] = w;
          else if (site === 'q' || site === 'k') weight[(r * H + c.head!) * T + c.position!] = w;
          else weight[r * T + c.position!] = w;
        }
      },
    });
  });
  const pass: ExtraPass = {
    label: 'attribution: activation patching',
    inputs,
    batchSize: rowsPer,
    variants,
    interventions,
    hooks: [lastPositionHook(candidates)],
    consume(batch, outputs, variant) {
      const task = taskOf(batch.sequenceIndex[0]);
      const t = tasks[task];
      const d = rowDiffs(outputs.f32(CANDIDATE_LOGITS), K, Array(batch.B).fill(t), col);
      const [clean, corrupt] = o.reverse ? [d[1], d[0]] : [d[0], d[1]];
      if (variant === 0) {
        result.clean[task] = clean;
        result.corrupt[task] = corrupt;
      }
      const mine = valid[task];
      for (let r = 2; r < batch.B; r++) {
        const slot = variant * C + (r - 2);
        if (slot < mine.length) result.tally.add(mine[slot], d[r] - d[1], clean - corrupt);
      }
    },
  };
  return { pass, result };
}
