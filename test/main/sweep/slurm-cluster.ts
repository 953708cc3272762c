// A one-node Slurm cluster for the tests, started and stopped by the test itself with Debian's
// slurm-wlm and munge (../shared/docs/FACTS.md): munged on its own socket and key in a temporary
// folder, slurmctld and slurmd from a generated slurm.conf naming this host as controller and node
// (auth/munge, proctrack/linuxproc, task/none, select/cons_tres, state, spool, pid and log files in
// the folder, free ports, MaxArraySize=5), and readiness awaited by polling `sinfo` rather than sleeping. Returns
// a reason instead where it cannot run (tools missing, not root, a daemon refusing to start), so
// the test skips with it. The daemons are stopped by their pid files.

import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { cpus, hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { findTool } from '../../../main/sweep/slurm.ts';

export interface Cluster {
  dir: string;
  conf: string;
  node: string;
  stop(): Promise<void>;
}

const TOOLS = ['munged', 'slurmctld', 'slurmd', 'sbatch', 'squeue', 'sinfo'];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function stopByPidFile(path: string): Promise<void> {
  if (!existsSync(path)) return;
  const pid = Number(readFileSync(path, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 1 || !alive(pid)) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 150 && alive(pid); i++) await sleep(100);
  if (alive(pid)) process.kill(pid, 'SIGKILL');
}

function tail(path: string): string {
  return existsSync(path) ? readFileSync(path, 'utf8').trim().split('\n').slice(-5).join(' | ') : '(no log)';
}

/** Starts the cluster, or returns why it cannot. */
export async function startCluster(): Promise<Cluster | string> {
  const missing = TOOLS.filter((t) => findTool(t, `${process.env.PATH ?? ''}:/usr/sbin:/sbin`) === null);
  if (missing.length > 0)
    return `Slurm is not installed here (no ${missing.join(', ')}); .ci/run installs slurm-wlm and munge`;
  if (process.getuid?.() !== 0)
    return 'slurmd must run as root to start jobs (this test starts its own cluster)';
  const bin = (t: string) => findTool(t, `${process.env.PATH ?? ''}:/usr/sbin:/sbin`) as string;
  const dir = mkdtempSync(join(tmpdir(), 'atlas-slurm-'));
  chmodSync(dir, 0o700);
  const munge = join(dir, 'munge');
  mkdirSync(munge, { mode: 0o700 });
  for (const d of ['state', 'spool', 'log']) mkdirSync(join(dir, d));
  writeFileSync(join(munge, 'munge.key'), randomBytes(128), { mode: 0o400 });
  const socket = join(munge, 'munge.sock');
  const node = hostname().split('.')[0];
  const conf = join(dir, 'slurm.conf');
  const cluster: Cluster = {
    dir,
    conf,
    node,
    async stop() {
      await stopByPidFile(join(dir, 'slurmd.pid'));
      await stopByPidFile(join(dir, 'slurmctld.pid'));
      await stopByPidFile(join(munge, 'munged.pid'));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  const fail = async (why: string): Promise<string> => {
    await cluster.stop();
    return why;
  };
  const m = spawnSync(bin('munged'), [
    '--force',
    `--socket=${socket}`,
    `--key-file=${join(munge, 'munge.key')}`,
    `--pid-file=${join(munge, 'munged.pid')}`,
    `--log-file=${join(munge, 'munged.log')}`,
    `--seed-file=${join(munge, 'munged.seed')}`,
  ]);
  if (m.status !== 0) return fail(`munged did not start: ${String(m.stderr).trim()}`);
  const [ctldPort, dPort] = [await freePort(), await freePort()];
  writeFileSync(
    conf,
    [
      'ClusterName=atlastest',
      `SlurmctldHost=${node}`,
      `SlurmctldPort=${ctldPort}`,
      `SlurmdPort=${dPort}`,
      'AuthType=auth/munge',
      `AuthInfo=socket=${socket}`,
      'CredType=cred/munge',
      'ProctrackType=proctrack/linuxproc',
      'TaskPlugin=task/none',
      'SelectType=select/cons_tres',
      'SelectTypeParameters=CR_Core',
      'SlurmUser=root',
      'SlurmdUser=root',
      `StateSaveLocation=${join(dir, 'state')}`,
      `SlurmdSpoolDir=${join(dir, 'spool')}`,
      `SlurmctldPidFile=${join(dir, 'slurmctld.pid')}`,
      `SlurmdPidFile=${join(dir, 'slurmd.pid')}`,
      `SlurmctldLogFile=${join(dir, 'log', 'slurmctld.log')}`,
      `SlurmdLogFile=${join(dir, 'log', 'slurmd.log')}`,
      'MpiDefault=none',
      'ReturnToService=2',
      'JobCompType=jobcomp/none',
      'AccountingStorageType=accounting_storage/none',
      'JobAcctGatherType=jobacct_gather/none',
      'SchedulerType=sched/backfill',
      // Small, so a six-task sweep needs two arrays (as the whole suite needs on a default cluster).
      'MaxArraySize=5',
      `NodeName=${node} CPUs=${cpus().length} RealMemory=1000 State=UNKNOWN`,
      'PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP',
      '',
    ].join('\n'),
  );
  for (const daemon of ['slurmctld', 'slurmd']) {
    const r = spawnSync(bin(daemon), ['-f', conf]);
    if (r.status !== 0)
      return fail(
        `${daemon} did not start: ${String(r.stderr).trim() || tail(join(dir, 'log', `${daemon}.log`))}`,
      );
  }
  // Ready when the node answers idle; a generous limit, polled.
  const deadline = Date.now() + 60_000;
  for (;;) {
    const s = spawnSync(bin('sinfo'), ['-h', '-o', '%t'], {
      env: { ...process.env, SLURM_CONF: conf },
      encoding: 'utf8',
    });
    if (s.status === 0 && /^idle/m.test(s.stdout)) return cluster;
    if (Date.now() > deadline)
      return fail(
        `the Slurm node did not become idle within 60 s: ${tail(join(dir, 'log', 'slurmctld.log'))}`,
      );
    await sleep(250);
  }
}
