// Mergeable, serialisable float64 accumulators (the baukit runningstats surface: add, merge,
// results, toJSON/fromJSON). Analyses reduce inside the ONNX graph and merge the small per-batch
// summaries here; a finished accumulator is stored with its run and can be resumed or merged.

export { Moments, type MomentsJSON } from './moments.ts';
export { ScalarStats, type ScalarStatsJSON } from './scalar.ts';
export { Covariance, type CovarianceJSON } from './covariance.ts';
export { TopK, type TopKEntry, type TopKJSON } from './topk.ts';
export { LogHistogram, type LogHistogramOptions, type LogHistogramJSON } from './histogram.ts';
