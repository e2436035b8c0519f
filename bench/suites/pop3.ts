/**
 * POP3 on the benchmark mailbox, one logged-in session per server (RSET
 * before QUIT, so Dovecot does not mark the mail \Seen): STAT + UIDL, TOP n 0
 * of every message, RETR of every message (MB/s). One command at a time, as
 * POP3 clients do. UIDL is checked to list every message.
 */
import { BenchPop3Client } from '../lib/pop3-client.js';
import type { BenchServer, ServerName } from '../lib/servers.js';
import { alternate, type BenchContext, plan, type Row, row } from '../lib/suite.js';

export async function pop3Suite(ctx: BenchContext): Promise<Row[]> {
  const sessions = new Map<ServerName, BenchPop3Client>();
  for (const s of ctx.servers) {
    sessions.set(s.name, await BenchPop3Client.login({ port: s.pop3s, certPem: s.certPem, user: s.user, password: s.password }));
  }
  const session = (s: BenchServer) => sessions.get(s.name) as BenchPop3Client;
  const rows: Row[] = [];
  const bytes = new Map<ServerName, number>();
  try {
    const stat = await alternate(ctx, 'POP3 STAT+UIDL', plan(ctx, 1, 9), async (s) => {
      const t0 = performance.now();
      const count = Number((await session(s).ok('STAT')).split(' ')[1]);
      const uidl = await session(s).multiline('UIDL', true);
      const ms = performance.now() - t0;
      const listed = (uidl.body?.toString('latin1').split('\r\n').length ?? 0) - 2;
      if (count !== ctx.messages || listed !== ctx.messages) throw new Error(`${s.name}: STAT says ${count}, UIDL lists ${listed}, expected ${ctx.messages}`);
      return ms;
    });
    rows.push(row('pop3-stat-uidl', `POP3 STAT + UIDL, ${ctx.messages} msgs`, 'ms', 'lower', stat));

    const top = await alternate(ctx, 'POP3 TOP n 0', plan(ctx, 1, 4), async (s) => {
      const t0 = performance.now();
      for (let n = 1; n <= ctx.messages; n++) await session(s).multiline(`TOP ${n} 0`);
      return performance.now() - t0;
    });
    rows.push(row('pop3-top', `POP3 TOP n 0 for all ${ctx.messages}`, 'ms', 'lower', top));

    const retr = await alternate(ctx, 'POP3 RETR all', plan(ctx, 1, 4), async (s) => {
      let octets = 0;
      const t0 = performance.now();
      for (let n = 1; n <= ctx.messages; n++) octets += (await session(s).multiline(`RETR ${n}`)).bytes;
      const seconds = (performance.now() - t0) / 1000;
      bytes.set(s.name, octets);
      return octets / 1e6 / seconds;
    });
    rows.push(row('pop3-retr', `POP3 RETR of all ${ctx.messages}`, 'MB/s', 'higher', retr, { detail: { octetsPerRun: Object.fromEntries(bytes) } }));
  } finally {
    for (const c of sessions.values()) await c.quit().catch(() => undefined);
  }
  return rows;
}
