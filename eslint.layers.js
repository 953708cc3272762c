// @ts-check
// The layer table of ARCHITECTURE.md ("Layers, by where code may run") as data, and the ESLint rule
// `layers/imports` that enforces it (eslint.config.js turns it on for every file). Each layer says
// which layers and which npm packages its files may import; every static import, re-export,
// dynamic `import('...')` and `import('...')` type is checked, relative paths resolved against the
// importing file. A layer that is not listed (test/, scripts/, bin/, root config files) is not
// restricted. `no-restricted-imports` patterns match the written specifier, so they cannot tell
// `../../main/x.ts` leaving native-models/ from the same text inside a deeper folder; resolving the
// path here can. test/lint/layers.test.ts shows the rule failing on deliberate violations.

import { builtinModules } from 'node:module';
import { dirname, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = dirname(fileURLToPath(import.meta.url));

/** Node's built-in modules, with or without the `node:` prefix. */
const NODE = 'node built-ins';

/**
 * @typedef {object} Layer
 * @property {string} name        how messages and ARCHITECTURE.md name it
 * @property {(path: string) => boolean} owns  whether a repository-relative path belongs to it
 * @property {string[]} layers    the layers its files may import (its own is listed where allowed)
 * @property {string[]} packages  npm packages (`pkg`, `@scope/*`, `pkg/*` for subpaths) or NODE
 * @property {string[]} [files]   single repository files it may import besides
 * @property {string[]} [typesOnly] layers it may import with `import type` only
 */

/**
 * The contract (DESIGN.md "One contract"): the AtlasApi types and the pure protocol modules every
 * host shares (argument schemas, their validator, the WebSocket codec). They import nothing but
 * each other, so they run anywhere.
 */
const CONTRACT_FILES = ['preload/api.ts', 'preload/schema.ts', 'preload/validate.ts', 'preload/codec.ts'];

/** @type {Layer[]} Most specific first: a path belongs to the first layer that owns it. */
export const LAYERS = [
  {
    name: 'native-models/',
    owns: (p) => p.startsWith('native-models/'),
    layers: ['native-models/'],
    packages: [NODE, 'onnxruntime-node', 'onnx-proto', '@huggingface/*'],
  },
  {
    name: 'main/electron/',
    owns: (p) => p.startsWith('main/electron/'),
    layers: ['main/electron/', 'main/', 'contract'],
    packages: [NODE, 'electron'],
  },
  {
    name: 'main/',
    owns: (p) => p.startsWith('main/'),
    layers: ['main/', 'native-models/', 'contract'],
    // vite and its config: the browser-mode host builds the renderer when run from source.
    packages: [NODE, 'better-sqlite3', 'ws', 'vite'],
    files: ['electron.vite.config.ts'],
  },
  {
    name: 'contract',
    owns: (p) => CONTRACT_FILES.includes(p),
    layers: ['contract'],
    packages: [],
  },
  {
    name: 'preload/',
    owns: (p) => p.startsWith('preload/'),
    layers: ['contract'],
    packages: ['electron'],
  },
  {
    name: 'renderer/',
    owns: (p) => p.startsWith('renderer/'),
    layers: ['renderer/', 'contract'],
    typesOnly: ['preload/api.ts'],
    packages: ['svelte', 'svelte/*', 'echarts', 'echarts/*'],
  },
];

/** @param {string} path repository-relative, `/`-separated */
export function layerOf(path) {
  return LAYERS.find((l) => l.owns(path));
}

/** @param {string} spec a bare specifier -> its package name (`@scope/name` or `name`) */
function packageName(spec) {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/**
 * @param {Layer} layer
 * @param {string} spec
 */
function packageAllowed(layer, spec) {
  if (spec.startsWith('node:') || builtinModules.includes(spec.split('/')[0])) {
    return layer.packages.includes(NODE);
  }
  const name = packageName(spec);
  return layer.packages.some((p) => {
    if (p === name && spec === name) return true;
    if (p.endsWith('/*')) {
      const base = p.slice(0, -2);
      return base.startsWith('@') ? name === base || name.startsWith(`${base}/`) : name === base;
    }
    return false;
  });
}

/** @param {Layer} layer */
function describe(layer) {
  const what = [...layer.layers, ...(layer.files ?? []), ...layer.packages];
  if (layer.typesOnly) what.push(...layer.typesOnly.map((f) => `${f} (types only)`));
  return what.join(', ');
}

/**
 * Why `spec` imported from `file` breaks the table, or null.
 * @param {string} file absolute path of the importing file
 * @param {string} spec the specifier as written
 * @param {boolean} typeOnly the import brings in types only
 * @returns {string | null}
 */
export function violation(file, spec, typeOnly) {
  const from = relative(ROOT, file).split(sep).join('/');
  const layer = layerOf(from);
  if (!layer) return null;
  if (!spec.startsWith('.') && !spec.startsWith('/')) {
    if (packageAllowed(layer, spec)) return null;
    return `${layer.name} may not import '${spec}'; it may import ${describe(layer)} (ARCHITECTURE.md "Layers").`;
  }
  const target = relative(ROOT, resolve(dirname(file), spec))
    .split(sep)
    .join('/');
  const to = layerOf(target);
  if (to && layer.layers.includes(to.name)) {
    if (to.name === 'contract' && layer.typesOnly?.includes(target) && !typeOnly) {
      return `${layer.name} may import ${target} with 'import type' only (ARCHITECTURE.md "Layers").`;
    }
    return null;
  }
  if (layer.files?.includes(target)) return null;
  return `${layer.name} may not import ${target}; it may import ${describe(layer)} (ARCHITECTURE.md "Layers").`;
}

/**
 * @param {any} node an import-like node
 * @returns {boolean}
 */
function isTypeOnly(node) {
  if (node.importKind === 'type' || node.exportKind === 'type') return true;
  const specs = node.specifiers ?? [];
  return (
    specs.length > 0 &&
    specs.every(/** @param {any} s */ (s) => s.importKind === 'type' || s.exportKind === 'type')
  );
}

/** @type {import('eslint').Rule.RuleModule} */
const importsRule = {
  meta: {
    type: 'problem',
    docs: { description: 'Imports follow the layer table of ARCHITECTURE.md.' },
    schema: [],
  },
  create(context) {
    const file = context.filename;
    /**
     * @param {any} node the node to report
     * @param {any} source the literal holding the specifier
     * @param {boolean} typeOnly
     */
    const check = (node, source, typeOnly) => {
      if (!source || source.type !== 'Literal' || typeof source.value !== 'string') return;
      const message = violation(file, source.value, typeOnly);
      if (message) context.report({ node, message });
    };
    return {
      /** @param {any} node */
      ImportDeclaration: (node) => check(node, node.source, isTypeOnly(node)),
      /** @param {any} node */
      ExportNamedDeclaration: (node) => check(node, node.source, isTypeOnly(node)),
      /** @param {any} node */
      ExportAllDeclaration: (node) => check(node, node.source, node.exportKind === 'type'),
      /** @param {any} node */
      ImportExpression: (node) => check(node, node.source, false),
      /** @param {any} node */
      TSImportType: (node) => check(node, node.argument?.literal ?? node.argument, true),
    };
  },
};

/** The local plugin eslint.config.js registers as `layers`. */
export const layersPlugin = { rules: { imports: importsRule } };
