// A small Hugging Face hub on 127.0.0.1 for offline tests, imitating the endpoints that
// @huggingface/hub and huggingface_hub (file_download.py) use:
//   GET  /api/models/{repo}/revision/{rev}      -> { id, sha, siblings }   (401 RepoNotFound, 404 RevisionNotFound)
//   GET  /api/models/{repo}/tree/{rev}          -> [{ type, path, size, oid, lfs? }], Link pagination
//   POST /api/models/{repo}/paths-info/{rev}    -> same entries for the asked paths
//   HEAD/GET /{repo}/resolve/{rev}/{file}       small files: 200 with ETag = git blob sha1;
//                                               LFS files: 302 to /cdn/<sha256> with X-Linked-Etag/-Size
//   GET  /cdn/{sha256}                          the bytes (what the hub's CDN serves)
// Every response carries X-Repo-Commit where the hub sends it; Range requests get 206 with
// Content-Range. Failure injection: drop the connection after N body bytes, flip one byte, or
// answer with an HTTP status. Every request is logged so tests can count them.

import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface MockFile {
  path: string;
  content: Uint8Array;
  /** Stored through LFS (default: .safetensors and .bin files). */
  lfs?: boolean;
}

export interface MockRepo {
  repo: string;
  /** Branch name -> files at that branch's commit. */
  revisions: Record<string, MockFile[]>;
}

export interface LoggedRequest {
  method: string;
  path: string;
  range: string | null;
  status: number;
  /** Body bytes actually written (after any injected drop). */
  bytesSent: number;
  /** The repo file whose bytes this request served (resolve or CDN), else null. */
  file: string | null;
}

interface StoredFile {
  path: string;
  content: Buffer;
  lfs: boolean;
  sha256: string;
  gitOid: string;
}

interface Fault {
  /** File path in the repo (any revision) whose body the fault applies to. */
  path: string;
  times: number;
  kind: 'drop' | 'corrupt' | 'status';
  bytes?: number;
  status?: number;
}

export function sha256Hex(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/** git's object id of a blob: sha1("blob <size>\0" + content). */
export function gitBlobOid(b: Uint8Array): string {
  return createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');
}

/** Deterministic pseudo-random bytes (xorshift32), so tests build files without Math.random. */
export function pseudoRandomBytes(n: number, seed: number): Buffer {
  const out = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

export class MockHub {
  readonly requests: LoggedRequest[] = [];
  url = '';
  /** Tree pages hold at most this many entries (Link: rel="next" for the rest). */
  treePageSize = 1000;
  /** Answer Range requests with the whole file (200), like a CDN that ignores ranges. */
  ignoreRanges = false;
  private server: Server;
  private faults: Fault[] = [];
  private commits = new Map<string, Map<string, string>>(); // repo -> rev -> commit
  private trees = new Map<string, StoredFile[]>(); // `${repo}@${commit}` -> files
  private blobs = new Map<string, StoredFile>(); // sha256 -> file

  /**
   * `cdnHost` names the host LFS redirects point at (default 127.0.0.1, this server). The real hub
   * redirects to another host; huggingface_hub reads file metadata from the redirect only when the
   * target host differs, so a check with Python passes `localhost`.
   */
  constructor(
    repos: MockRepo[],
    private readonly opts: { cdnHost?: string } = {},
  ) {
    for (const r of repos) this.addRepo(r);
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => {
        res.statusCode = 500;
        res.end(String(e));
      });
    });
  }

  addRepo(r: MockRepo): void {
    const revs = this.commits.get(r.repo) ?? new Map<string, string>();
    for (const [rev, files] of Object.entries(r.revisions)) {
      const stored = files.map((f) => {
        const content = Buffer.from(f.content);
        const lfs = f.lfs ?? /\.(safetensors|bin)$/.test(f.path);
        const s: StoredFile = {
          path: f.path,
          content,
          lfs,
          sha256: sha256Hex(content),
          gitOid: gitBlobOid(content),
        };
        if (lfs) this.blobs.set(s.sha256, s);
        return s;
      });
      const listing = stored.map((s) => `${s.path}:${s.gitOid}`).join(',');
      const commit = createHash('sha1').update(`${r.repo}@${rev}:${listing}`).digest('hex');
      revs.set(rev, commit);
      this.trees.set(`${r.repo}@${commit}`, stored);
    }
    this.commits.set(r.repo, revs);
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  commitOf(repo: string, rev: string): string {
    const c = this.commits.get(repo)?.get(rev);
    if (!c) throw new Error(`no ${repo} ${rev} in the mock`);
    return c;
  }

  /** Drop the connection after `bytes` body bytes of `path`, the next `times` times it is served. */
  dropAfter(path: string, bytes: number, times = 1): void {
    this.faults.push({ path, kind: 'drop', bytes, times });
  }

  /** Flip one byte in the middle of `path`'s body, the next `times` times. */
  corrupt(path: string, times = 1): void {
    this.faults.push({ path, kind: 'corrupt', times });
  }

  /** Answer `status` instead of `path`'s body, the next `times` times. */
  failWith(path: string, status: number, times = 1): void {
    this.faults.push({ path, kind: 'status', status, times });
  }

  /** Body bytes sent for a file (through resolve or the CDN). */
  bytesServed(path: string): number {
    return this.requests.filter((r) => r.file === path).reduce((s, r) => s + r.bytesSent, 0);
  }

  private takeFault(path: string): Fault | undefined {
    const f = this.faults.find((x) => x.path === path && x.times > 0);
    if (f) f.times--;
    return f;
  }

  private resolve(repo: string, rev: string): { commit: string; files: StoredFile[] } | null {
    const revs = this.commits.get(repo);
    if (!revs) return null;
    const commit = revs.get(rev) ?? ([...revs.values()].includes(rev) ? rev : undefined);
    if (!commit) return null;
    return { commit, files: this.trees.get(`${repo}@${commit}`) ?? [] };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', this.url);
    const path = decodeURIComponent(u.pathname);
    const log: LoggedRequest = {
      method: req.method ?? 'GET',
      path,
      range: req.headers.range ?? null,
      status: 0,
      bytesSent: 0,
      file: null,
    };
    this.requests.push(log);
    res.on('finish', () => (log.status = res.statusCode));
    res.on('close', () => (log.status ||= res.statusCode));
    let m: RegExpExecArray | null;
    if ((m = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/(.+)$/.exec(path)))
      return this.apiRevision(res, m[1], m[2]);
    if ((m = /^\/api\/models\/([^/]+\/[^/]+)\/tree\/([^/]+)(?:\/(.*))?$/.exec(path))) {
      return this.apiTree(res, m[1], m[2], Number(u.searchParams.get('cursor') ?? 0), u);
    }
    if ((m = /^\/api\/models\/([^/]+\/[^/]+)\/paths-info\/(.+)$/.exec(path)) && req.method === 'POST') {
      const body = JSON.parse(await readBody(req)) as { paths: string[] };
      return this.apiPathsInfo(res, m[1], m[2], body.paths);
    }
    if ((m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path)))
      return this.resolveFile(req, res, log, m[1], m[2], m[3]);
    if ((m = /^\/cdn\/([0-9a-f]{64})$/.exec(path))) {
      const f = this.blobs.get(m[1]);
      if (!f) return notFound(res, 'EntryNotFound');
      res.setHeader('ETag', `"${f.sha256}"`);
      return this.sendBody(req, res, log, f);
    }
    notFound(res, null);
  }

  private apiRevision(res: ServerResponse, repo: string, rev: string): void {
    if (!this.commits.has(repo)) return repoNotFound(res);
    const r = this.resolve(repo, rev);
    if (!r) return notFound(res, 'RevisionNotFound');
    json(res, {
      _id: 'mock',
      id: repo,
      sha: r.commit,
      private: false,
      siblings: r.files.map((f) => ({ rfilename: f.path })),
    });
  }

  private entry(f: StoredFile): object {
    return f.lfs
      ? {
          type: 'file',
          path: f.path,
          size: f.content.length,
          oid: gitBlobOid(Buffer.from(pointer(f))),
          lfs: { oid: f.sha256, size: f.content.length, pointerSize: pointer(f).length },
        }
      : { type: 'file', path: f.path, size: f.content.length, oid: f.gitOid };
  }

  private apiTree(res: ServerResponse, repo: string, rev: string, cursor: number, u: URL): void {
    if (!this.commits.has(repo)) return repoNotFound(res);
    const r = this.resolve(repo, rev);
    if (!r) return notFound(res, 'RevisionNotFound');
    const page = r.files.slice(cursor, cursor + this.treePageSize);
    if (cursor + this.treePageSize < r.files.length) {
      const next = new URL(u.href);
      next.searchParams.set('cursor', String(cursor + this.treePageSize));
      res.setHeader('Link', `<${next.href}>; rel="next"`);
    }
    json(
      res,
      page.map((f) => this.entry(f)),
    );
  }

  private apiPathsInfo(res: ServerResponse, repo: string, rev: string, paths: string[]): void {
    if (!this.commits.has(repo)) return repoNotFound(res);
    const r = this.resolve(repo, rev);
    if (!r) return notFound(res, 'RevisionNotFound');
    json(
      res,
      r.files.filter((f) => paths.includes(f.path)).map((f) => this.entry(f)),
    );
  }

  private resolveFile(
    req: IncomingMessage,
    res: ServerResponse,
    log: LoggedRequest,
    repo: string,
    rev: string,
    file: string,
  ): void {
    if (!this.commits.has(repo)) return repoNotFound(res);
    const r = this.resolve(repo, rev);
    if (!r) return notFound(res, 'RevisionNotFound');
    const f = r.files.find((x) => x.path === file);
    res.setHeader('X-Repo-Commit', r.commit);
    if (!f) return notFound(res, 'EntryNotFound');
    if (f.lfs) {
      res.setHeader('X-Linked-Etag', `"${f.sha256}"`);
      res.setHeader('X-Linked-Size', String(f.content.length));
      res.setHeader('ETag', `"${gitBlobOid(Buffer.from(pointer(f)))}"`);
      const port = new URL(this.url).port;
      res.setHeader(
        'Location',
        `http://${this.opts.cdnHost ?? '127.0.0.1'}:${port}/cdn/${f.sha256}?expires=0`,
      );
      res.statusCode = 302;
      res.end();
      return;
    }
    res.setHeader('ETag', `"${f.gitOid}"`);
    this.sendBody(req, res, log, f);
  }

  private sendBody(req: IncomingMessage, res: ServerResponse, log: LoggedRequest, f: StoredFile): void {
    const size = f.content.length;
    log.file = f.path;
    let start = 0;
    let end = size - 1;
    res.setHeader('Accept-Ranges', 'bytes');
    const range =
      req.headers.range && !this.ignoreRanges ? /^bytes=(\d+)-(\d*)$/.exec(req.headers.range) : null;
    if (range) {
      start = Number(range[1]);
      end = range[2] ? Math.min(Number(range[2]), size - 1) : size - 1;
      if (start >= size) {
        res.statusCode = 416;
        res.setHeader('Content-Range', `bytes */${size}`);
        res.end();
        return;
      }
      res.statusCode = 206;
      res.setHeader('Content-Range', `bytes ${start}-${end}/${size}`);
    } else {
      res.statusCode = 200;
    }
    res.setHeader('Content-Length', String(end - start + 1));
    res.setHeader('Content-Type', 'application/octet-stream');
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    let body = f.content.subarray(start, end + 1);
    const fault = this.takeFault(f.path);
    if (fault?.kind === 'status') {
      res.removeHeader('Content-Range');
      res.removeHeader('Content-Length');
      res.statusCode = fault.status ?? 500;
      res.end();
      return;
    }
    if (fault?.kind === 'corrupt') {
      body = Buffer.from(body);
      body[body.length >> 1] ^= 0xff;
    }
    if (fault?.kind === 'drop') {
      const n = Math.min(fault.bytes ?? 0, body.length);
      res.flushHeaders();
      res.write(body.subarray(0, n), () => {
        log.bytesSent += n;
        // give the bytes time to leave before the reset
        setTimeout(() => res.socket?.destroy(), 20);
      });
      return;
    }
    log.bytesSent += body.length;
    res.end(body);
  }
}

/** The LFS pointer file git stores for an LFS object. */
function pointer(f: StoredFile): string {
  return `version https://git-lfs.github.com/spec/v1\noid sha256:${f.sha256}\nsize ${f.content.length}\n`;
}

function json(res: ServerResponse, body: unknown): void {
  res.statusCode = 200;
  res.setHeader('Content-Type', 'application/json');
  res.end(JSON.stringify(body));
}

function notFound(res: ServerResponse, code: string | null): void {
  res.statusCode = 404;
  if (code) res.setHeader('X-Error-Code', code);
  res.setHeader('Content-Type', 'application/json');
  res.end(JSON.stringify({ error: code ?? 'Not Found' }));
}

function repoNotFound(res: ServerResponse): void {
  res.statusCode = 401;
  res.setHeader('X-Error-Code', 'RepoNotFound');
  res.setHeader('Content-Type', 'application/json');
  res.end(JSON.stringify({ error: 'Repository not found' }));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function startMockHub(repos: MockRepo[], opts: { cdnHost?: string } = {}): Promise<MockHub> {
  return new MockHub(repos, opts).start();
}
