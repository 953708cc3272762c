// Token text stored beside a run's tensors, so a view can label tokens without a tokenizer: the
// tokens' display texts (safeTokenText) as UTF-8 bytes concatenated, `<prefix>_text` [bytes], and
// their boundaries, `<prefix>_text_offsets` [n + 1] (token i is bytes offsets[i]..offsets[i+1]).
// Read back in the renderer by `decodeTokenTexts` (renderer/src/lib/tensors.ts).

import type { TextTokenizer } from '../../native-models/tokenizer/types.ts';
import type { TensorRow } from '../analyses/types.ts';
import { safeTokenText } from './token-classes.ts';

export function tokenTextTensors(
  prefix: string,
  tokenizer: TextTokenizer,
  ids: readonly number[],
): TensorRow[] {
  const enc = new TextEncoder();
  const texts = ids.map((id) => enc.encode(safeTokenText(tokenizer, id)));
  const offsets = new Int32Array(ids.length + 1);
  texts.forEach((t, i) => (offsets[i + 1] = offsets[i] + t.length));
  const bytes = new Uint8Array(offsets[ids.length]);
  texts.forEach((t, i) => bytes.set(t, offsets[i]));
  return [
    { name: `${prefix}_text`, shape: [bytes.length], data: bytes },
    { name: `${prefix}_text_offsets`, shape: [ids.length + 1], data: offsets },
  ];
}
