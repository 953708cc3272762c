// Dynamic alignment of activation trajectories: DTW (dtw.ts, band.ts, block.ts), the medoid and DTW
// barycenter averaging (medoid.ts, dba.ts), and warping an average onto a sequence (warp.ts).
export { dtw, dtwPath, type DtwOptions, type DtwResult, type WarpingPath } from './dtw.ts';
export { sakoeChiba, type Band } from './band.ts';
export { dba, type DbaOptions, type DbaResult } from './dba.ts';
export { medoid, resample, type Medoid } from './medoid.ts';
export { warpOnto, type Warp } from './warp.ts';
export {
  trajectory,
  COST_NAMES,
  type CostName,
  type CostOptions,
  type Floats,
  type Trajectory,
} from './trajectory.ts';
