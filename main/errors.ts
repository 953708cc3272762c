// User-facing errors, as main/ code has always imported them. The type lives in the lowest layer
// (native-models/errors.ts) so that native-models/ can throw it without importing main/
// (ARCHITECTURE.md "Layers"); this module re-exports it unchanged.

export { AtlasError, isAtlasError } from '../native-models/errors.ts';
