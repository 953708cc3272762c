// Shared tensor types for checkpoint weights. Every reader (safetensors, PyTorch zip) yields a
// StateDict of float32 tensors in Hugging Face parameter names (e.g.
// `gpt_neox.layers.0.attention.query_key_value.weight`), fp16/bf16 already widened to fp32.

/** A dense float32 tensor, row-major. */
export interface Tensor {
  shape: number[];
  data: Float32Array;
}

/** Parameter name -> tensor. Iteration order is not significant; fingerprints sort by name. */
export type StateDict = Map<string, Tensor>;

/** Storage dtypes we can read from checkpoint files. */
export type StorageDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';
