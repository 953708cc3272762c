// Dataset ingestion: files -> text records (readers), records -> token sequences (tokenize),
// sequences -> padded batches with attention and loss masks (batches).

export {
  DATASET_KINDS,
  detectKind,
  parseDataset,
  readDataset,
  type BadRecord,
  type DataRecord,
  type DatasetKind,
  type ReadOptions,
  type ReadResult,
} from './readers.ts';
export { ALPACA_PROMPT_INPUT, ALPACA_PROMPT_NO_INPUT, renderAlpaca, type AlpacaExample } from './alpaca.ts';
export { parseCsv, type CsvRow } from './csv.ts';
export {
  encodeRecord,
  tokenizeRecords,
  type SequenceTokenizer,
  type TokenSequence,
  type TokenizeOptions,
  type TokenizeResult,
} from './tokenize.ts';
export { batchGroups, makeBatch, makeBatches, type Batch, type BatchOptions } from './batches.ts';
