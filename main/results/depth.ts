// Relative depth: where a layer sits in its model, so models of different depth share one axis (the
// Pythia paper's cross-scale plots, Biderman et al. 2023). One definition for the whole project
// (ARCHITECTURE.md "Relative depth"): layer l of L has depth l / (L - 1), so the first layer is 0
// and the last is 1 at every size; a one-layer model's only layer is 0. The CLI's `compare` and
// `emergence`, the shape descriptors, the analyses' stored `*_depth` rows and the UI's across-sizes
// view all use this function.

/** `layer / (numLayers - 1)`: 0 for the first layer, 1 for the last; 0 when there is one layer. */
export function relativeDepth(layer: number, numLayers: number): number {
  return numLayers > 1 ? layer / (numLayers - 1) : 0;
}
