// Writes hub-cache revisions by hand, exactly as Python's huggingface_hub lays them out
// (blobs/<sha256>, snapshots/<commit>/<file> -> ../../blobs/<sha256>, refs/<revision> = commit,
// no newline), without the code under test, so tests can check that Atlas reuses such a cache.
import { createHash } from 'node:crypto';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Writes one revision and returns its (made-up, deterministic) commit hash. */
export function writePythonRevision(
  root: string,
  repo: string,
  revision: string,
  files: Record<string, Uint8Array>,
  commit = createHash('sha1').update(`${repo}@${revision}`).digest('hex'),
): string {
  const dir = join(root, `models--${repo.replace('/', '--')}`);
  mkdirSync(join(dir, 'blobs'), { recursive: true });
  mkdirSync(join(dir, 'snapshots', commit), { recursive: true });
  mkdirSync(join(dir, 'refs'), { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    const etag = sha256(content);
    writeFileSync(join(dir, 'blobs', etag), content);
    symlinkSync(`../../blobs/${etag}`, join(dir, 'snapshots', commit, name));
  }
  writeFileSync(join(dir, 'refs', revision), commit);
  return commit;
}
