// Every citation of docs/METHODS.md in the source names a section that exists, and no file cites a
// METHODS.md outside the repository. Comments are joined across lines first, so a citation broken
// over two comment lines is read whole.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
const FOLDERS = ['main', 'native-models', 'preload', 'renderer', 'scripts', 'test'];

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (name === 'node_modules' || name === 'fixtures') continue;
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (/\.(ts|svelte)$/.test(name)) out.push(path);
  }
  return out;
}

const sections = new Set(
  readFileSync(join(ROOT, 'docs/METHODS.md'), 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('## '))
    .map((l) => l.slice(3).trim()),
);

const citations: { file: string; text: string }[] = [];
for (const file of FOLDERS.flatMap((f) => sourceFiles(join(ROOT, f)))) {
  const text = readFileSync(file, 'utf8').replace(/\n\s*\/\/\s*/g, ' ');
  for (const m of text.matchAll(/([\w./-]*)METHODS\.md,?\s*("[^"]*")?/g)) {
    if (file.endsWith('methods.test.ts')) continue;
    citations.push({ file: relative(ROOT, file), text: m[0] });
  }
}

describe('docs/METHODS.md citations', () => {
  it('the source cites it', () => {
    expect(citations.length).toBeGreaterThanOrEqual(11);
  });

  it('each citation is docs/METHODS.md "Section" with a section that exists', () => {
    for (const c of citations) {
      const m = /^docs\/METHODS\.md "([^"]+)"$/.exec(c.text.trim());
      expect(m, `${c.file}: ${c.text}`).not.toBeNull();
      expect(sections.has(m![1]), `${c.file}: no section "${m![1]}"`).toBe(true);
    }
  });
});
