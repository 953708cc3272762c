// A paired batch (run/passes.ts `paired`: rows [0, B) clean, [B, 2B) the same sequences under an
// intervention) into the masked-loss accumulators: the clean half's next-token loss, the edited
// half's, and the in-graph next-token KL(p_clean || p_edited) per token (neox/hooks/pair-kl.ts),
// counted under the same loss mask as the loss.

import { TOKEN_LOSS } from '../../native-models/neox/address.ts';
import { PAIR_KL } from '../../native-models/neox/hooks/pair-kl.ts';
import type { BatchView, GraphOutputs } from '../analyses/types.ts';
import type { TokenLoss } from './token-loss.ts';

export function addPairedBatch(
  batch: BatchView,
  outputs: GraphOutputs,
  acc: { base?: TokenLoss; edited: TokenLoss; kl: TokenLoss },
): void {
  const half = batch.B / 2;
  const T = batch.T;
  const loss = outputs.f32(TOKEN_LOSS); // [2B, T-1]
  const split = (rows: number) => ({
    B: half,
    T,
    lossMask: batch.lossMask.subarray(rows * T, (rows + half) * T),
  });
  acc.base?.add(split(0), loss.subarray(0, half * (T - 1)));
  acc.edited.add(split(half), loss.subarray(half * (T - 1)));
  const k = outputs.f32(PAIR_KL); // [B, T]: KL of the next-token distributions at position t
  const asLoss = new Float32Array(half * (T - 1)); // laid out as token_loss, [B, T-1]
  for (let b = 0; b < half; b++) asLoss.set(k.subarray(b * T, b * T + T - 1), b * (T - 1));
  acc.kl.add(split(half), asLoss);
}
