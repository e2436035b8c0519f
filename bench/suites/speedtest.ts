/**
 * The speed test's download against the bench clients', on the same server
 * and mailbox (issue 10): if `mailstead speedtest` reported a protocol much
 * slower than a lean client can read it, its verdict would measure itself.
 * Each run alternates: the bench client's full download (IMAP: one
 * UID FETCH 1:* BODY.PEEK[]; POP3: RETR of every message), then a whole
 * speed-test probe run (runImap/runPop3, every phase) whose download phase
 * is kept. The rows give the speed test's MB/s and its ratio to the bench
 * client's MB/s of the same round; the goal is within 1.5× (ratio ≥ 0.67).
 */
import { runImap } from '../../src/tools/speedtest/imap-probe.js';
import type { SessionOptions } from '../../src/tools/speedtest/imap-session.js';
import { runPop3 } from '../../src/tools/speedtest/pop3-probe.js';
import { BenchImapClient } from '../lib/imap-client.js';
import { BenchPop3Client } from '../lib/pop3-client.js';
import type { BenchServer, ServerName } from '../lib/servers.js';
import { alternate, type BenchContext, plan, type Row, row } from '../lib/suite.js';

/** The speed test may be this much slower than the bench client before its figures stop describing the protocol. */
export const SPEEDTEST_GOAL_RATIO = 1.5;

function sessionOf(s: BenchServer, protocol: 'imap' | 'pop3'): SessionOptions {
  const port = protocol === 'imap' ? s.imaps : s.pop3s;
  return {
    target: { protocol, implicitTls: true, host: '127.0.0.1', port, user: s.user, url: `${protocol}s://${s.user}@127.0.0.1:${port}` },
    password: s.password,
    insecure: false,
    ca: [s.certPem],
    servername: 'localhost',
    timeoutMs: 10 * 60_000,
  };
}

async function benchImapDownload(s: BenchServer, messages: number): Promise<number> {
  const c = await BenchImapClient.login({ port: s.imaps, certPem: s.certPem, user: s.user, password: s.password });
  try {
    await c.ok('EXAMINE INBOX');
    const t0 = performance.now();
    const r = await c.ok('UID FETCH 1:* BODY.PEEK[]');
    const seconds = (performance.now() - t0) / 1000;
    if (r.untagged < messages) throw new Error(`${s.name}: expected ${messages} FETCH responses, got ${r.untagged}`);
    return r.bytes / 1e6 / seconds;
  } finally {
    await c.logout().catch(() => undefined);
  }
}

async function benchPop3Download(s: BenchServer, messages: number): Promise<number> {
  const c = await BenchPop3Client.login({ port: s.pop3s, certPem: s.certPem, user: s.user, password: s.password });
  try {
    let octets = 0;
    const t0 = performance.now();
    for (let n = 1; n <= messages; n++) octets += (await c.multiline(`RETR ${n}`)).bytes;
    return octets / 1e6 / ((performance.now() - t0) / 1000);
  } finally {
    await c.quit().catch(() => undefined);
  }
}

async function speedtestDownload(s: BenchServer, protocol: 'imap' | 'pop3', messages: number): Promise<number> {
  const run = await (protocol === 'imap' ? runImap : runPop3)(sessionOf(s, protocol), null, { progress() {} });
  if (run.download.messages !== messages) throw new Error(`${s.name}: the speed test downloaded ${run.download.messages} of ${messages} messages`);
  return run.download.bytes / 1e6 / (run.download.ms / 1000);
}

export async function speedtestSuite(ctx: BenchContext): Promise<Row[]> {
  const rows: Row[] = [];
  for (const protocol of ['imap', 'pop3'] as const) {
    const name = protocol.toUpperCase();
    const speedtest = new Map<ServerName, number[]>(ctx.servers.map((s) => [s.name, []]));
    const bench = new Map<ServerName, number[]>(ctx.servers.map((s) => [s.name, []]));
    const ratios = await alternate(ctx, `speed test vs bench client, ${name} download`, plan(ctx, 1, 5), async (s, run) => {
      const b = await (protocol === 'imap' ? benchImapDownload : benchPop3Download)(s, ctx.messages);
      const t = await speedtestDownload(s, protocol, ctx.messages);
      if (run >= 0) {
        bench.get(s.name)?.push(b);
        speedtest.get(s.name)?.push(t);
      }
      return t / b;
    });
    rows.push(row(`speedtest-${protocol}-download`, `Speed test ${name} full download (its own client), ${ctx.messages} msgs`, 'MB/s', 'higher', speedtest));
    rows.push(
      row(`speedtest-${protocol}-vs-bench`, `Speed test / bench client, ${name} download MB/s (goal ≥ ${(1 / SPEEDTEST_GOAL_RATIO).toFixed(2)})`, 'ratio', 'higher', ratios, {
        note: `${name}: the speed test's download MB/s over the bench client's in the same round; the goal is within ${SPEEDTEST_GOAL_RATIO}× of the bench client (≥ ${(1 / SPEEDTEST_GOAL_RATIO).toFixed(2)}).`,
        detail: { benchClientMBps: Object.fromEntries(bench) },
      }),
    );
  }
  return rows;
}
