// The layer rule (eslint.layers.js, `layers/imports`) through ESLint's Node API with the project's
// own eslint.config.js: deliberate violations of ARCHITECTURE.md's table fail, allowed imports pass.
// The files named here need not exist; only their place in the tree matters.

import { join } from 'node:path';
import { ESLint } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
let eslint: ESLint;

beforeAll(() => {
  eslint = new ESLint({ cwd: ROOT });
});

/** The layer messages ESLint reports for `code` placed at `file` (repository-relative). */
async function layerErrors(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(ROOT, file) });
  return result.messages.filter((m) => m.ruleId === 'layers/imports').map((m) => m.message);
}

describe('layers/imports fails on imports against the table', () => {
  it('native-models/ importing main/errors.ts', async () => {
    const errors = await layerErrors(
      'native-models/hub/probe.ts',
      "import { AtlasError } from '../../main/errors.ts';\nexport const E = AtlasError;\n",
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^native-models\/ may not import main\/errors\.ts/);
  });

  it('native-models/ importing the contract, the renderer or an app package', async () => {
    const code = [
      "import type { RunInfo } from '../../../preload/api.ts';",
      "export type { Stores } from '../../../renderer/src/lib/stores.ts';",
      "import Database from 'better-sqlite3';",
      "export const load = () => import('../../../main/runner.ts');",
      'export const x: RunInfo | null = null;',
      'export const D = Database;',
    ].join('\n');
    const errors = await layerErrors('native-models/graph/vjp/probe.ts', code);
    expect(errors).toHaveLength(4);
    expect(errors.join('\n')).toMatch(/preload\/api\.ts/);
    expect(errors.join('\n')).toMatch(/renderer\/src\/lib\/stores\.ts/);
    expect(errors.join('\n')).toMatch(/'better-sqlite3'/);
    expect(errors.join('\n')).toMatch(/main\/runner\.ts/);
  });

  it('the renderer importing main/', async () => {
    const errors = await layerErrors(
      'renderer/src/lib/probe.ts',
      "import type { LoadedModel } from '../../../main/load-model.ts';\nexport type M = LoadedModel;\n",
    );
    expect(errors).toEqual([expect.stringMatching(/^renderer\/ may not import main\/load-model\.ts/)]);
  });

  it('the renderer reaching main/ through an import() type or a re-export', async () => {
    const code = [
      "export type M = import('../../../main/load-model.ts').LoadedModel;",
      "export { AtlasError } from '../../../main/errors.ts';",
    ].join('\n');
    const errors = await layerErrors('renderer/src/lib/probe.ts', code);
    expect(errors).toHaveLength(2);
  });

  it('the renderer importing native-models/, in a .ts file and a Svelte component', async () => {
    const ts = await layerErrors(
      'renderer/src/lib/probe.ts',
      "import { PYTHIA_STEPS } from '../../../native-models/hub/catalogue.ts';\nexport const s = PYTHIA_STEPS;\n",
    );
    expect(ts).toEqual([expect.stringMatching(/may not import native-models\/hub\/catalogue\.ts/)]);
    const svelte = await layerErrors(
      'renderer/src/views/Probe.svelte',
      '<script lang="ts">\n  import { PYTHIA_STEPS } from \'../../../native-models/hub/catalogue.ts\';\n</script>\n\n<p>{PYTHIA_STEPS.length}</p>\n',
    );
    expect(svelte).toEqual([expect.stringMatching(/may not import native-models\/hub\/catalogue\.ts/)]);
  });

  it('the renderer importing preload/index.ts, a value from api.ts, or Node', async () => {
    const code = [
      "import '../../../preload/index.ts';",
      "import { Device } from '../../../preload/api.ts';",
      "import { readFileSync } from 'node:fs';",
      'export const d: Device = "cpu";',
      'export const r = readFileSync;',
    ].join('\n');
    const errors = await layerErrors('renderer/src/lib/probe.ts', code);
    expect(errors).toHaveLength(3);
    expect(errors[1]).toMatch(/preload\/api\.ts with 'import type' only/);
  });

  it('main/ importing the renderer, the Electron shell or electron', async () => {
    const code = [
      "import { formatStep } from '../../renderer/src/lib/steps.ts';",
      "import { APP_ORIGIN } from '../electron/guard.ts';",
      "import { app } from 'electron';",
      'export const all = [formatStep, APP_ORIGIN, app];',
    ].join('\n');
    const errors = await layerErrors('main/cli/probe.ts', code);
    expect(errors).toHaveLength(3);
  });

  it('the contract importing anything outside itself', async () => {
    const errors = await layerErrors(
      'preload/codec.ts',
      "import { AtlasError } from '../main/errors.ts';\nexport const E = AtlasError;\n",
    );
    expect(errors).toHaveLength(1);
  });
});

describe('layers/imports passes allowed imports', () => {
  it('native-models/ within itself, Node and its packages', async () => {
    const code = [
      "import { AtlasError } from '../errors.ts';",
      "import { readFile } from 'node:fs/promises';",
      "import * as ort from 'onnxruntime-node';",
      "import { onnx } from 'onnx-proto';",
      "import { Tokenizer } from '@huggingface/tokenizers';",
      "import type { Graph } from '../graph/ir.ts';",
      'export const all = [AtlasError, readFile, ort, onnx, Tokenizer];',
      'export type G = Graph;',
    ].join('\n');
    expect(await layerErrors('native-models/hub/probe.ts', code)).toEqual([]);
  });

  it('main/ importing native-models/, the contract and its packages', async () => {
    const code = [
      "import type { RunInfo } from '../../preload/api.ts';",
      "import { checkCall } from '../../preload/schema.ts';",
      "import { AtlasError } from '../../native-models/errors.ts';",
      "import Database from 'better-sqlite3';",
      "import { WebSocketServer } from 'ws';",
      "import { Project } from '../library/project.ts';",
      'export const all = [checkCall, AtlasError, Database, WebSocketServer, Project];',
      'export type R = RunInfo;',
    ].join('\n');
    expect(await layerErrors('main/cli/probe.ts', code)).toEqual([]);
  });

  it('main/electron/ importing electron and main/; the preload importing electron and the contract', async () => {
    const shell = [
      "import { app } from 'electron';",
      "import type { EngineClient } from '../transport/calls.ts';",
      'export const a = app;',
      'export type C = EngineClient;',
    ].join('\n');
    expect(await layerErrors('main/electron/probe.ts', shell)).toEqual([]);
    const preload = [
      "import { contextBridge } from 'electron';",
      "import { METHODS } from './schema.ts';",
      'export const all = [contextBridge, METHODS];',
    ].join('\n');
    expect(await layerErrors('preload/index.ts', preload)).toEqual([]);
  });

  it('the renderer importing api.ts types, the wire codec, svelte and echarts', async () => {
    const code = [
      "import type { AtlasHost } from '../../../preload/api.ts';",
      "import { decode } from '../../../preload/codec.ts';",
      "import { writable } from 'svelte/store';",
      "import { use } from 'echarts/core';",
      "import { formatStep } from './steps.ts';",
      'export const all = [decode, writable, use, formatStep];',
      'export type H = AtlasHost;',
    ].join('\n');
    expect(await layerErrors('renderer/src/lib/probe.ts', code)).toEqual([]);
  });

  it('test/ and scripts/ importing anything', async () => {
    const code = [
      "import { AtlasError } from '../../main/errors.ts';",
      "import { app } from 'electron';",
      "import type { Stores } from '../../renderer/src/lib/stores.ts';",
      'export const all = [AtlasError, app];',
      'export type S = Stores;',
    ].join('\n');
    expect(await layerErrors('test/lint/probe.ts', code)).toEqual([]);
  });
});
