// The engine's import graph (ARCHITECTURE.md "main/"): no file imports itself through others, and
// the split holds: services and the results module never see the transport or the facade, the
// transport reaches the engine only through the facade (main/api.ts), and nothing but the transport,
// the Electron shell and the browser-mode host imports the transport. Type-only imports are left
// out (they vanish at run time and cannot make a cycle).

import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const IMPORT = /^\s*(?:import|export)\s+(type\s+)?[^'";]*?from\s+'(\.[^']+)'|import\('(\.[^']+)'\)/gm;

/** Repository-relative file -> the repository-relative files it imports at run time. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const f of [...walk(join(ROOT, 'main')), ...walk(join(ROOT, 'preload'))]) {
    const deps: string[] = [];
    for (const m of readFileSync(f, 'utf8').matchAll(IMPORT)) {
      if (m[1]) continue;
      deps.push(
        relative(ROOT, resolve(dirname(f), m[2] ?? m[3]))
          .split('\\')
          .join('/'),
      );
    }
    graph.set(relative(ROOT, f).split('\\').join('/'), deps);
  }
  return graph;
}

/** Strongly connected components of more than one file (Tarjan). */
function cycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const scc: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      scc.push(w);
    } while (w !== v);
    if (scc.length > 1) out.push(scc.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

const graph = importGraph();
const edges = [...graph].flatMap(([from, deps]) => deps.map((to) => ({ from, to })));
const under = (dir: string) => (f: string) => f.startsWith(`main/${dir}/`);

describe('the engine import graph', () => {
  it('has no cycles', () => {
    expect(graph.size).toBeGreaterThan(50);
    expect(cycles(graph)).toEqual([]);
  });

  it('keeps services and results below the facade and the transport', () => {
    const bad = edges.filter(
      (e) =>
        (under('services')(e.from) || under('results')(e.from)) &&
        (under('transport')(e.to) || e.to === 'main/api.ts' || e.to.startsWith('main/electron/')),
    );
    expect(bad).toEqual([]);
  });

  it('lets the transport reach the engine only through the facade', () => {
    const bad = edges.filter(
      (e) =>
        under('transport')(e.from) &&
        (under('services')(e.to) || under('results')(e.to) || under('library')(e.to)),
    );
    expect(bad).toEqual([]);
    const users = new Set(edges.filter((e) => under('transport')(e.to)).map((e) => e.from));
    for (const u of users) expect(u).toMatch(/^main\/(transport|electron)\/|^main\/server\.ts$/);
  });
});
