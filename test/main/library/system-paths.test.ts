// System folders are recognised after resolving symlinks, and ordinary folders are not.

import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { systemFolderOf } from '../../../main/library/system-paths.ts';

const dir = mkdtempSync(join(tmpdir(), 'atlas-sys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('systemFolderOf', () => {
  it('names the system folder of a path, also through a symlink', () => {
    expect(systemFolderOf('/etc/passwd.pythia-atlas')).toBe('/etc');
    expect(systemFolderOf('/proc/self/environ')).toBe('/proc');
    expect(systemFolderOf('/dev/zero')).toBe('/dev');
    symlinkSync('/etc', join(dir, 'link'));
    expect(systemFolderOf(join(dir, 'link', 'x.pythia-atlas'))).toBe('/etc');
  });

  it('leaves ordinary folders alone, including missing ones and look-alike names', () => {
    expect(systemFolderOf(join(dir, 'a', 'b.pythia-atlas'))).toBeNull();
    expect(systemFolderOf('/etcetera/x')).toBeNull();
  });
});
