// A batch's graph outputs as analyses read them: by graph address (native-models/neox/address.ts),
// never by spelling a name. An address the graph did not compute is an error naming it, so a
// missing statistic can never pass as zeros.

import { addressName, type GraphAddress } from '../../native-models/neox/address.ts';
import type { GraphOutputs, OutputTensor } from '../analyses/types.ts';

export function graphOutputs(map: ReadonlyMap<string, OutputTensor>): GraphOutputs {
  const get = (a: GraphAddress): OutputTensor => {
    const name = addressName(a);
    const t = map.get(name);
    if (!t) throw new Error(`the graph has no output ${name}`);
    return t;
  };
  return {
    get,
    has: (a) => map.has(addressName(a)),
    f32(a) {
      const t = get(a);
      if (!(t.data instanceof Float32Array)) throw new Error(`the output ${addressName(a)} is not float32`);
      return t.data;
    },
    i64(a) {
      const t = get(a);
      if (!(t.data instanceof BigInt64Array)) throw new Error(`the output ${addressName(a)} is not int64`);
      return t.data;
    },
  };
}
