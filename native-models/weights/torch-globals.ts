// The allow-list of the restricted unpickler: the only globals a PyTorch state dict pickle may
// name (those torch.load(weights_only=True) accepts for plain tensors; see
// torch/_weights_only_unpickler.py), and what REDUCE on each allow-listed callable yields, as an
// inert description, never a call.
// Persistent ids follow torch/serialization.py (`persistent_id`): ('storage', <storage class>,
// key, location, numel).

import { AtlasError } from '../errors.ts';
import { PyDict, PyGlobal, PyTuple, TorchStorageRef, TorchTensorRef, type PyValue } from './pickle-values.ts';
import type { StorageDType } from './types.ts';

/** Storage classes -> element dtype. */
const STORAGE_CLASSES: Record<string, StorageDType> = {
  'torch.DoubleStorage': 'F64',
  'torch.FloatStorage': 'F32',
  'torch.HalfStorage': 'F16',
  'torch.BFloat16Storage': 'BF16',
  'torch.LongStorage': 'I64',
  'torch.IntStorage': 'I32',
  'torch.ShortStorage': 'I16',
  'torch.CharStorage': 'I8',
  'torch.ByteStorage': 'U8',
  'torch.BoolStorage': 'BOOL',
  'torch.UntypedStorage': 'U8',
  'torch.storage.UntypedStorage': 'U8',
};
/** torch dtype objects -> element dtype. */
const TORCH_DTYPES: Record<string, StorageDType> = {
  'torch.float64': 'F64',
  'torch.float32': 'F32',
  'torch.float16': 'F16',
  'torch.bfloat16': 'BF16',
  'torch.int64': 'I64',
  'torch.int32': 'I32',
  'torch.int16': 'I16',
  'torch.int8': 'I8',
  'torch.uint8': 'U8',
  'torch.bool': 'BOOL',
};
const CALLABLES = new Set([
  'collections.OrderedDict',
  'torch.Size',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_tensor_v3',
  'torch._utils._rebuild_parameter',
  'torch._utils._rebuild_parameter_with_state',
  'torch._tensor._rebuild_from_type_v2',
]);
/** Classes that may appear only as the `new_type` argument of _rebuild_from_type_v2. */
const TENSOR_TYPES = new Set(['torch.Tensor', 'torch.nn.parameter.Parameter']);

/** Every global a state dict pickle may name. */
export const ALLOWED_GLOBALS: ReadonlySet<string> = new Set([
  ...Object.keys(STORAGE_CLASSES),
  ...Object.keys(TORCH_DTYPES),
  ...CALLABLES,
  ...TENSOR_TYPES,
]);

export function asNumber(x: PyValue, what: string): number {
  if (typeof x === 'number' && Number.isSafeInteger(x)) return x;
  throw new AtlasError(`${what} is not an integer`);
}

/** torch's persistent id for a storage: ('storage', <storage class>, key, location, numel). */
export function torchPersistentLoad(pid: PyValue): TorchStorageRef {
  const items = pid instanceof PyTuple ? pid.items : [];
  const [tag, cls, key, location, numel] = items;
  if (items.length !== 5 || tag !== 'storage' || !(cls instanceof PyGlobal) || typeof key !== 'string') {
    throw new AtlasError('the pickle has a persistent id that is not a torch storage reference');
  }
  const dtype = STORAGE_CLASSES[cls.qualified];
  if (dtype === undefined)
    throw new AtlasError(`the pickle uses an unsupported storage class '${cls.qualified}'`);
  return new TorchStorageRef(cls.qualified, dtype, key, String(location), asNumber(numel, 'a storage size'));
}

function intList(x: PyValue, what: string): number[] {
  if (!(x instanceof PyTuple) && !Array.isArray(x)) throw new AtlasError(`${what} is not a tuple`);
  return (x instanceof PyTuple ? x.items : x).map((v) => asNumber(v, what));
}

function rebuildTensor(args: PyValue[], dtypeArg: PyValue | undefined): TorchTensorRef {
  const [storage, offset, size, stride] = args;
  if (!(storage instanceof TorchStorageRef)) throw new AtlasError('a tensor in the pickle has no storage');
  let dtype = storage.dtype;
  if (dtypeArg !== undefined) {
    const d = dtypeArg instanceof PyGlobal ? TORCH_DTYPES[dtypeArg.qualified] : undefined;
    if (d === undefined) throw new AtlasError('a tensor in the pickle has an unsupported dtype');
    dtype = d;
  }
  const shape = intList(size, 'a tensor size');
  const strides = intList(stride, 'a tensor stride');
  if (shape.length !== strides.length)
    throw new AtlasError('a tensor in the pickle has mismatched size and stride');
  return new TorchTensorRef(storage, asNumber(offset, 'a storage offset'), shape, strides, dtype);
}

/** REDUCE / NEWOBJ on an allow-listed callable: an inert description of the result. */
export function reduce(callable: PyValue, argsValue: PyValue, what: string): PyValue {
  if (!(callable instanceof PyGlobal) || !CALLABLES.has(callable.qualified)) {
    const name = callable instanceof PyGlobal ? `'${callable.qualified}'` : 'a value that is not a function';
    throw new AtlasError(
      `refusing to load ${what}: the pickle calls ${name}, which a state dict never needs`,
    );
  }
  if (!(argsValue instanceof PyTuple)) throw new AtlasError('the pickle applies a callable to a non-tuple');
  const args = argsValue.items;
  switch (callable.qualified) {
    case 'collections.OrderedDict': {
      const d = new PyDict();
      const init = args[0];
      if (init instanceof PyDict) for (const [k, v] of init.map) d.map.set(k, v);
      return d;
    }
    case 'torch.Size':
      return new PyTuple(intList(args[0] ?? new PyTuple([]), 'a torch.Size'));
    case 'torch._utils._rebuild_tensor_v2':
      return rebuildTensor(args, undefined);
    case 'torch._utils._rebuild_tensor_v3':
      return rebuildTensor(args, args[6]);
    case 'torch._utils._rebuild_parameter':
    case 'torch._utils._rebuild_parameter_with_state':
      if (!(args[0] instanceof TorchTensorRef))
        throw new AtlasError('a parameter in the pickle wraps no tensor');
      return args[0];
    default: {
      // torch._tensor._rebuild_from_type_v2(func, new_type, args, state)
      const [func, newType, inner] = args;
      if (!(newType instanceof PyGlobal) || !TENSOR_TYPES.has(newType.qualified)) {
        throw new AtlasError('the pickle rebuilds a tensor subclass that a state dict never needs');
      }
      return reduce(func, inner, what);
    }
  }
}
