/**
 * IMAP on the benchmark mailbox, one logged-in session per server:
 * a flag resync (SELECT + UID FETCH 1:* (UID FLAGS RFC822.SIZE)), a header
 * sync (ENVELOPE BODYSTRUCTURE INTERNALDATE FLAGS of every message) and a
 * full download (BODY.PEEK[] of every message in one command, as MB/s).
 * Each answer is checked to hold one FETCH per message.
 */
import { BenchImapClient, type CommandResult } from '../lib/imap-client.js';
import type { BenchServer, ServerName } from '../lib/servers.js';
import { alternate, type BenchContext, plan, type Row, row } from '../lib/suite.js';

export async function imapSuite(ctx: BenchContext): Promise<Row[]> {
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
  const rows: Row[] = [];
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
      const r = await session(s).ok('UID FETCH 1:* (ENVELOPE BODYSTRUCTURE INTERNALDATE FLAGS)');
      const ms = performance.now() - t0;
      checkFetches(s, r);
      return ms;
    });
    rows.push(row('imap-header-sync', 'IMAP header sync UID FETCH 1:* (ENVELOPE BODYSTRUCTURE INTERNALDATE FLAGS)', 'ms', 'lower', headers));

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
