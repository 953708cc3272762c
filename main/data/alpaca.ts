// The standard Alpaca prompt template, exactly as tatsu-lab/stanford_alpaca `train.py` PROMPT_DICT
// (Taori et al. 2023, "Stanford Alpaca: An Instruction-following LLaMA model"): the with-input
// template when `input` is a non-empty string, the no-input one otherwise (`example.get("input",
// "") != ""`). train.py feeds source + target with no separator and masks the source's tokens out
// of the loss; here the prompt (source) and response (target, the `output`) stay separate strings
// so the tokeniser can mark where the response starts. train.py's target also ends with the EOS
// token; that is a tokenisation option here (`appendEos`), not part of the text.

export const ALPACA_PROMPT_INPUT =
  'Below is an instruction that describes a task, paired with an input that provides further context. ' +
  'Write a response that appropriately completes the request.\n\n' +
  '### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:';

export const ALPACA_PROMPT_NO_INPUT =
  'Below is an instruction that describes a task. ' +
  'Write a response that appropriately completes the request.\n\n' +
  '### Instruction:\n{instruction}\n\n### Response:';

export interface AlpacaExample {
  instruction: string;
  input?: string;
  output: string;
}

/** Python str.format_map with the two named fields (no other braces occur in the templates). */
function fill(template: string, ex: AlpacaExample): string {
  return template.replace(/\{(instruction|input)\}/g, (_, key: 'instruction' | 'input') => ex[key] ?? '');
}

/** The prompt (source) and response (target) of one Alpaca example. */
export function renderAlpaca(ex: AlpacaExample): { prompt: string; response: string } {
  const template = (ex.input ?? '') !== '' ? ALPACA_PROMPT_INPUT : ALPACA_PROMPT_NO_INPUT;
  return { prompt: fill(template, ex), response: ex.output };
}

/** Checks one parsed JSON value as an Alpaca example; returns the reason it is unusable, or the example. */
export function asAlpacaExample(value: unknown): AlpacaExample | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not an object';
  const v = value as Record<string, unknown>;
  for (const key of ['instruction', 'output'] as const) {
    if (!(key in v)) return `missing "${key}"`;
    if (typeof v[key] !== 'string') return `"${key}" is ${typeName(v[key])}, not a string`;
  }
  if (v.input !== undefined && v.input !== null && typeof v.input !== 'string') {
    return `"input" is ${typeName(v.input)}, not a string`;
  }
  return {
    instruction: v.instruction as string,
    input: typeof v.input === 'string' ? v.input : '',
    output: v.output as string,
  };
}

/** A JSON value's type in words, for error messages. */
export function typeName(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an array';
  return typeof x === 'object' ? 'an object' : `a ${typeof x}`;
}
