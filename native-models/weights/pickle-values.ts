// The values the restricted unpickler (pickle.ts) produces: inert JS stand-ins for the Python
// objects a state dict pickle holds (tuples, dicts, allow-listed globals by name) and the
// descriptions of torch storages and tensors that torch-bin.ts turns into float32 tensors.

import type { StorageDType } from './types.ts';

export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}
export class PyDict {
  readonly map = new Map<PyValue, PyValue>();
  /** BUILD state (an OrderedDict's `_metadata` attribute dict, say); kept, never interpreted. */
  state: PyValue = null;
}
export class PySet {
  constructor(readonly items: PyValue[]) {}
}
/** An allow-listed global (a class, function or dtype), by name only. */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get qualified(): string {
    return `${this.module}.${this.name}`;
  }
}
/** A torch storage from a persistent id ('storage', class, key, location, numel). */
export class TorchStorageRef {
  constructor(
    readonly storageClass: string,
    readonly dtype: StorageDType,
    readonly key: string,
    readonly location: string,
    readonly numel: number,
  ) {}
}
/** A tensor view of a storage, as torch._utils._rebuild_tensor_v2/_v3 would build it. */
export class TorchTensorRef {
  constructor(
    readonly storage: TorchStorageRef,
    /** In elements of `dtype`. */
    readonly storageOffset: number,
    readonly size: number[],
    readonly stride: number[],
    readonly dtype: StorageDType,
  ) {}
}

export type PyValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PyValue[]
  | PyTuple
  | PyDict
  | PySet
  | PyGlobal
  | TorchStorageRef
  | TorchTensorRef;
