/**
 * Memory after the runs: the Mailstead process's VmRSS, and for context the
 * sum over Dovecot's master and every process it forked (login, auth,
 * per-user imap/pop3, lmtp). An RSS sum counts shared libraries once per
 * process, so the proportional (PSS) sum is given too.
 */
import { pssBytes, rssBytes } from '../lib/memory.js';
import type { ServerName } from '../lib/servers.js';
import type { BenchContext, Row } from '../lib/suite.js';
import { row } from '../lib/suite.js';

export async function memorySuite(ctx: BenchContext): Promise<Row[]> {
  const rss = new Map<ServerName, number[]>();
  const pss = new Map<ServerName, number[]>();
  const processes: Record<string, number> = {};
  for (const s of ctx.servers) {
    const pids = s.pids();
    processes[s.name] = pids.length;
    rss.set(s.name, [pids.reduce((sum, pid) => sum + rssBytes(pid), 0) / 2 ** 20]);
    pss.set(s.name, [pids.reduce((sum, pid) => sum + pssBytes(pid), 0) / 2 ** 20]);
  }
  const note = `processes: ${Object.entries(processes)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')}${processes.dovecot ? " (the benchmarks' sessions have ended; Dovecot's per-login processes are gone)" : ''}`;
  return [
    row('memory-rss', 'Memory after the runs, RSS (Dovecot: all processes summed)', 'MiB', 'lower', rss, { note, detail: { processes } }),
    row('memory-pss', 'Memory after the runs, PSS (shared pages split)', 'MiB', 'lower', pss),
  ];
}
