// Shared helpers for the micro-suite tests: the weights fingerprint of a checkpoint directory.

import { weightsFingerprint } from '../../../native-models/weights/fingerprint.ts';
import { loadStateDict } from '../../../native-models/weights/load.ts';

/** weightsFingerprint of the model.safetensors in a checkpoint directory. */
export async function fingerprintOf(dir: string): Promise<string> {
  return weightsFingerprint((await loadStateDict(dir)).dict);
}
