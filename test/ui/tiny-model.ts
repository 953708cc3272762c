// A tiny random GPT-NeoX written to a folder at test time, in the layout of a Hugging Face model
// directory (config.json with the hub's Pythia keys + model.safetensors), so the app's ordinary
// local-model path loads it. Its vocabulary (50304 rows, as Pythia's) covers the 20B tokenizer's
// 50277 ids; the tokenizer is passed separately (../shared/data/20B_tokenizer.json).

import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pythiaConfig } from '../../native-models/hub/catalogue.ts';
import { neoxConfigJson } from '../../native-models/micro/checkpoint.ts';
import { randomNeoxWeights } from '../../native-models/neox/random.ts';
import { writeSafetensors } from '../../native-models/weights/safetensors.ts';

export const TOKENIZER = resolve(__dirname, '../../../shared/data/20B_tokenizer.json');

/** Writes a 2-layer, d=16 model into `dir` and returns `dir`. */
export async function writeTinyModel(dir: string, seed = 1): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const cfg = { ...pythiaConfig(2, 16, 2, 50304), maxPositions: 64 };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(neoxConfigJson(cfg), null, 2));
  await writeSafetensors(join(dir, 'model.safetensors'), randomNeoxWeights(cfg, seed), { format: 'pt' });
  return dir;
}
