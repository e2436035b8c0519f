/**
 * IMAP on the benchmark mailbox, one logged-in session per server:
 * a header sync (ENVELOPE BODYSTRUCTURE INTERNALDATE FLAGS of every message)
 * cold, i.e. the first one after both servers restart, then a flag resync
 * (SELECT + UID FETCH 1:* (UID FLAGS RFC822.SIZE)), the same header sync warm
 * and a full download (BODY.PEEK[] of every message in one command, as MB/s).
 * Each answer is checked to hold one FETCH per message.
 *
 * "Cold" means a new server process with empty memory, its data and the
 * operating system's page cache left as they are: Mailstead restarts (its
 * summary cache and SQLite page cache start empty; the stored summaries are
 * on disk), Dovecot's master restarts (new imap processes; its index and
 * dovecot.index.cache files are kept, as they are in production). The page
 * cache is not dropped: that needs root sysctl and would slow every other
 * process on this shared machine; on a machine of its own, run with
 * `echo 3 > /proc/sys/vm/drop_caches` before each round by hand. The first
 * cold round is also the first header sync since delivery, when Dovecot's
 * cache file does not hold ENVELOPE and BODYSTRUCTURE yet and it parses
 * every message: it gets a row of its own.
 */
import { BenchImapClient, type CommandResult } from '../lib/imap-client.js';
import type { BenchServer, ServerName } from '../lib/servers.js';
import { alternate, type BenchContext, type ClientCpu, plan, type Row, row, withClientCpu } from '../lib/suite.js';

const HEADER_SYNC = 'UID FETCH 1:* (ENVELOPE BODYSTRUCTURE INTERNALDATE FLAGS)';

/**
 * Restarts each server and times its first header sync (SELECT untimed, as
 * in the warm row). Its own loop rather than alternate(): the client CPU is
 * taken over the FETCH alone, not the restart.
 */
async function coldHeaderSync(ctx: BenchContext): Promise<Row[]> {
  const first = new Map<ServerName, number[]>();
  const cold = new Map<ServerName, number[]>(ctx.servers.map((s) => [s.name, []]));
  const cpu = new Map<ServerName, { cpuMs: number; wallMs: number }>(ctx.servers.map((s) => [s.name, { cpuMs: 0, wallMs: 0 }]));
  // Run 0 is the first sync since delivery; the runs after it are the cold row.
  const { runs } = plan(ctx, 0, 4);
  for (let run = 0; run < runs; run++) {
    ctx.progress(`IMAP header sync, cold: run ${run + 1}/${runs}`);
    for (const s of run % 2 ? [...ctx.servers].reverse() : ctx.servers) {
      await s.restart();
      const c = await BenchImapClient.login({ port: s.imaps, certPem: s.certPem, user: s.user, password: s.password });
      try {
        await c.ok('SELECT INBOX');
        const { result: r, cpu: used } = await withClientCpu(() => c.ok(HEADER_SYNC));
        if (r.untagged < ctx.messages) throw new Error(`${s.name}: expected ${ctx.messages} FETCH responses, got ${r.untagged}`);
        if (run === 0) first.set(s.name, [used.wallMs]);
        else {
          cold.get(s.name)?.push(used.wallMs);
          const spent = cpu.get(s.name) as { cpuMs: number; wallMs: number };
          spent.cpuMs += used.cpuMs;
          spent.wallMs += used.wallMs;
        }
      } finally {
        await c.logout().catch(() => c.close());
      }
    }
  }
  const clientCpu = Object.fromEntries([...cpu].map(([n, c]) => [n, { ...c, percent: c.wallMs ? (c.cpuMs / c.wallMs) * 100 : 0 } satisfies ClientCpu]));
  return [
    row('imap-header-sync-first', `IMAP header sync, first after delivery and restart, ${ctx.messages} msgs`, 'ms', 'lower', first, {
      note: "one run: the first ENVELOPE/BODYSTRUCTURE FETCH since delivery (Dovecot's cache file gains these fields here)",
    }),
    row('imap-header-sync-cold', `IMAP header sync, cold (after server restart), ${ctx.messages} msgs`, 'ms', 'lower', cold, {
      clientCpu,
      note: 'each run restarts the server first (new process, empty memory); files and the OS page cache are kept, see bench/suites/imap.ts',
    }),
  ];
}

export async function imapSuite(ctx: BenchContext): Promise<Row[]> {
  const rows: Row[] = await coldHeaderSync(ctx);
  const sessions = new Map<ServerName, BenchImapClient>();
  for (const s of ctx.servers) {
    const c = await BenchImapClient.login({ port: s.imaps, certPem: s.certPem, user: s.user, password: s.password });
    await c.ok('SELECT INBOX');
    sessions.set(s.name, c);
  }
  const session = (s: BenchServer) => sessions.get(s.name) as BenchImapClient;
  const checkFetches = (s: BenchServer, r: CommandResult, extra = 0) => {
    if (r.untagged < ctx.messages + extra) throw new Error(`${s.name}: expected ${ctx.messages} FETCH responses, got ${r.untagged - extra}`);
  };
  const bytes = new Map<ServerName, number>();
  try {
    const flags = await alternate(ctx, 'IMAP flag resync', plan(ctx, 1, 9), async (s) => {
      const t0 = performance.now();
      await session(s).ok('SELECT INBOX');
      const r = await session(s).ok('UID FETCH 1:* (UID FLAGS RFC822.SIZE)');
      const ms = performance.now() - t0;
      checkFetches(s, r);
      return ms;
    });
    rows.push(row('imap-select-flags', `IMAP SELECT + UID FETCH 1:* (UID FLAGS RFC822.SIZE), ${ctx.messages} msgs`, 'ms', 'lower', flags));

    const headers = await alternate(ctx, 'IMAP header sync', plan(ctx, 1, 7), async (s) => {
      const t0 = performance.now();
      const r = await session(s).ok(HEADER_SYNC);
      const ms = performance.now() - t0;
      checkFetches(s, r);
      return ms;
    });
    rows.push(row('imap-header-sync', `IMAP header sync, warm, ${HEADER_SYNC}`, 'ms', 'lower', headers));

    const download = await alternate(ctx, 'IMAP full download', plan(ctx, 1, 5), async (s) => {
      const t0 = performance.now();
      const r = await session(s).ok('UID FETCH 1:* BODY.PEEK[]');
      const seconds = (performance.now() - t0) / 1000;
      checkFetches(s, r);
      bytes.set(s.name, r.bytes);
      return r.bytes / 1e6 / seconds;
    });
    rows.push(
      row('imap-download', 'IMAP full download UID FETCH 1:* BODY.PEEK[]', 'MB/s', 'higher', download, {
        detail: { octetsPerRun: Object.fromEntries(bytes) },
      }),
    );
  } finally {
    for (const c of sessions.values()) await c.logout().catch(() => c.close());
  }
  return rows;
}
