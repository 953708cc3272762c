// A progress line on stderr: rewritten in place on a terminal, one line every few seconds
// otherwise (logs, CI). Shows the phase, done/total and tokens per second.

export interface ProgressEvent {
  phase: string;
  done: number;
  total: number;
  tokensPerSecond?: number;
  message?: string;
}

export function progressPrinter(label: string): (p: ProgressEvent) => void {
  const tty = process.stderr.isTTY === true;
  let last = 0;
  let lastPhase = '';
  return (p) => {
    const now = Date.now();
    const finished = p.total > 0 && p.done >= p.total;
    if (!tty && p.phase === lastPhase && !finished && now - last < 2000) return;
    last = now;
    lastPhase = p.phase;
    const pct = p.total > 0 ? ` ${((100 * p.done) / p.total).toFixed(0)}%` : '';
    const rate = p.tokensPerSecond ? ` ${Math.round(p.tokensPerSecond).toLocaleString('en-US')} tok/s` : '';
    const msg = p.message ? ` ${p.message}` : '';
    const line = `${label} ${p.phase}${pct} (${p.done}/${p.total})${rate}${msg}`;
    if (tty) process.stderr.write(`\r\x1b[K${line}${finished ? '\n' : ''}`);
    else process.stderr.write(`${line}\n`);
  };
}
