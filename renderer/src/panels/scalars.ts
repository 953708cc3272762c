// The analyses whose scalar metrics (no layer, head or position axis) are drawn together over
// training by ScalarsPanel (TensorBoard-style) rather than one generic MetricPanel each.

export const SCALAR_ANALYSES: readonly string[] = ['behaviour', 'model'];
