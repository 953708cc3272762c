// The runtime layer's public surface: sessions with execution-provider fallback, feeds, and model
// materialisation (inline bytes or external data), and the ONNX Runtime binding itself (`ort`) for
// the engine's session plumbing (main/run/graph-session.ts): main/ reaches onnxruntime-node only through
// this layer (ARCHITECTURE.md "Layers").

export { batchFeeds, createSession, DEVICES, float32Tensor, int64Tensor, run } from './session.ts';
export type { CreatedSession, Device, SessionRequest } from './session.ts';
export { modelSource } from './model.ts';
export type { ModelSourceOptions } from './model.ts';
export * as ort from 'onnxruntime-node';
