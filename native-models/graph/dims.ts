// Symbolic dimension algebra for the graph IR's shape inference. A dimension is a number (static)
// or a string (symbolic): a plain symbol such as 'B' or 'T', a product such as 'B*T' or '4*B*T',
// an expression such as 'T-1' (treated as an atom inside products), or a fresh unknown '?<n>'.
// Broadcasting follows the ONNX multidirectional (numpy) rules:
// https://github.com/onnx/onnx/blob/main/docs/Broadcasting.md

export type Dim = number | string;
export type Shape = Dim[];

let unknownCounter = 0;

/** A fresh unknown dimension ('?<n>'), for shapes that cannot be inferred statically. */
export function unknownDim(): string {
  unknownCounter += 1;
  return `?${unknownCounter}`;
}

export function isStatic(shape: readonly Dim[]): shape is number[] {
  return shape.every((d) => typeof d === 'number');
}

export function dimEquals(a: Dim, b: Dim): boolean {
  if (typeof a === 'number' || typeof b === 'number') return a === b;
  return canonicalProduct(a) === canonicalProduct(b);
}

interface Monomial {
  coef: number;
  atoms: string[];
}

function toMonomial(d: Dim): Monomial {
  if (typeof d === 'number') return { coef: d, atoms: [] };
  let coef = 1;
  const atoms: string[] = [];
  for (const part of splitProduct(d)) {
    if (/^\d+$/.test(part)) coef *= Number(part);
    else atoms.push(part);
  }
  atoms.sort();
  return { coef, atoms };
}

/** Split 'a*b*(T-1)' at top-level '*' (parenthesised parts stay whole). */
function splitProduct(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth += 1;
    if (ch === ')') depth -= 1;
    if (ch === '*' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  return parts.map((p) =>
    p.startsWith('(') && p.endsWith(')') && balanced(p.slice(1, -1)) ? p.slice(1, -1) : p,
  );
}

function balanced(s: string): boolean {
  let depth = 0;
  for (const ch of s) {
    if (ch === '(') depth += 1;
    if (ch === ')') depth -= 1;
    if (depth < 0) return false;
  }
  return depth === 0;
}

function atomText(a: string): string {
  return /^[A-Za-z_?][A-Za-z0-9_?]*$/.test(a) ? a : `(${a})`;
}

function fromMonomial(m: Monomial): Dim {
  if (m.atoms.length === 0) return m.coef;
  if (m.coef === 0) return 0;
  const atoms = m.atoms.map(atomText);
  return m.coef === 1 ? atoms.join('*') : [String(m.coef), ...atoms].join('*');
}

function canonicalProduct(d: string): string {
  return String(fromMonomial(toMonomial(d)));
}

/** Product of dimensions ('B', 'T', 512 -> '512*B*T'). */
export function dimProduct(dims: readonly Dim[]): Dim {
  let coef = 1;
  const atoms: string[] = [];
  for (const d of dims) {
    const m = toMonomial(d);
    coef *= m.coef;
    atoms.push(...m.atoms);
  }
  atoms.sort();
  return fromMonomial({ coef, atoms });
}

/** a / b when it divides exactly (symbolically), else a fresh unknown. */
export function dimDivide(a: Dim, b: Dim): Dim {
  const ma = toMonomial(a);
  const mb = toMonomial(b);
  if (mb.coef === 0 || ma.coef % mb.coef !== 0) return unknownDim();
  const atoms = [...ma.atoms];
  for (const x of mb.atoms) {
    const i = atoms.indexOf(x);
    if (i < 0) return unknownDim();
    atoms.splice(i, 1);
  }
  return fromMonomial({ coef: ma.coef / mb.coef, atoms });
}

/** d + k for an integer k ('T' + -1 -> 'T-1'). */
export function dimAddConst(d: Dim, k: number): Dim {
  if (typeof d === 'number') return d + k;
  if (k === 0) return d;
  const m = /^(.*?)([+-]\d+)$/.exec(d);
  if (m && balanced(m[1])) {
    const total = Number(m[2]) + k;
    return total === 0 ? m[1] : `${m[1]}${total > 0 ? '+' : ''}${total}`;
  }
  return `${d}${k > 0 ? '+' : ''}${k}`;
}

/** Sum of dimensions (Concat along an axis). */
export function dimSum(dims: readonly Dim[]): Dim {
  let k = 0;
  const syms: string[] = [];
  for (const d of dims) {
    if (typeof d === 'number') k += d;
    else syms.push(d);
  }
  if (syms.length === 0) return k;
  const base = syms.length === 1 ? syms[0] : syms.map((s) => atomText(s)).join('+');
  return dimAddConst(base, k);
}

/** Broadcast two dimensions (ONNX multidirectional broadcasting). Throws on a static mismatch. */
export function broadcastDim(a: Dim, b: Dim): Dim {
  if (a === 1) return b;
  if (b === 1) return a;
  if (dimEquals(a, b)) return a;
  if (typeof a === 'number' && typeof b === 'number') {
    throw new Error(`cannot broadcast dimensions ${a} and ${b}`);
  }
  // One symbolic: at run time it must equal the static one (or be 1, which we cannot know).
  if (typeof a === 'number') return a;
  if (typeof b === 'number') return b;
  return unknownDim();
}

/** Broadcast shapes (numpy rules: align trailing axes). */
export function broadcastShapes(...shapes: readonly Dim[][]): Dim[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    let d: Dim = 1;
    for (const s of shapes) {
      const j = s.length - rank + i;
      if (j >= 0) d = broadcastDim(d, s[j]);
    }
    out.push(d);
  }
  return out;
}

/** Normalise a possibly negative axis against a rank. */
export function normAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new Error(`axis ${axis} out of range for rank ${rank}`);
  return a;
}

export function shapeToString(shape: readonly Dim[]): string {
  return `[${shape.join(', ')}]`;
}
