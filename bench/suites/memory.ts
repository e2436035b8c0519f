/**
 * Memory after the runs: the Mailstead process's VmRSS, and for context the
 * sum over Dovecot's master and every process it forked (login, auth,
 * per-user imap/pop3, lmtp). An RSS sum counts shared libraries once per
 * process, so the proportional (PSS) sum is given too.
 *
 * And memory at start (issue 12: ≤ 60 MB): a fresh `mailstead serve` with the
 * shipped defaults and every listener on, started a second time on its data
 * directory (the first start generates the certificate and the first
 * account, which a running server does not do again), with no client.
 */
import { pssBytes, rssBytes } from '../lib/memory.js';
import type { ServerName } from '../lib/servers.js';
import type { BenchContext, Row } from '../lib/suite.js';
import { row } from '../lib/suite.js';
import { makeDataDir, startServer } from '../../test/helpers/server.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Samples `read` every `everyMs` until three samples in a row agree within 1 % (or `maxMs` passed); returns the last. */
export async function settled(read: () => number, maxMs: number, everyMs = 1000): Promise<number> {
  const samples: number[] = [read()];
  const deadline = Date.now() + maxMs;
  while (Date.now() < deadline) {
    await sleep(everyMs);
    samples.push(read());
    const last = samples.slice(-3);
    if (last.length === 3 && Math.max(...last) <= Math.min(...last) * 1.01) break;
  }
  return samples[samples.length - 1]!;
}

async function startMemory(ctx: BenchContext): Promise<{ rss: number[]; pss: number[] }> {
  const rss: number[] = [];
  const pss: number[] = [];
  const dataDir = makeDataDir();
  const first = await startServer({ dataDir });
  await first.stop();
  try {
    for (let round = 0; round < (ctx.quick ? 1 : 3); round++) {
      const server = await startServer({ dataDir });
      try {
        const pid = server.process.pid!;
        // After start: the server's own after-start collection (memory-release.ts) runs within ~5 s.
        await sleep(8000);
        rss.push((await settled(() => rssBytes(pid), 20_000)) / 2 ** 20);
        pss.push(pssBytes(pid) / 2 ** 20);
      } finally {
        await server.stop();
      }
    }
  } finally {
    first.cleanup();
  }
  ctx.progress(`memory at start: RSS ${rss.map((m) => m.toFixed(1)).join(', ')} MiB`);
  return { rss, pss };
}

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
  const start = await startMemory(ctx);
  return [
    row('memory-rss', 'Memory after the runs, RSS (Dovecot: all processes summed)', 'MiB', 'lower', rss, { note, detail: { processes } }),
    row('memory-pss', 'Memory after the runs, PSS (shared pages split)', 'MiB', 'lower', pss),
    row('memory-start-rss', 'Memory at start, RSS (a fresh mailstead serve, defaults, every listener, no client)', 'MiB', 'lower', new Map([['mailstead', start.rss]]), {
      note: 'issue 12 target: ≤ 60 MB; second start on its data directory, 8 s after it listens, then settled (3 samples 1 s apart within 1 %)',
    }),
    row('memory-start-pss', 'Memory at start, PSS', 'MiB', 'lower', new Map([['mailstead', start.pss]])),
  ];
}
