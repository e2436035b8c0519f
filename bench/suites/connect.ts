/**
 * Connect + TLS + login + logout, on imaps (LOGIN, LOGOUT over the lean
 * client) and pop3s (the project's POP3 client: CAPA, AUTH PLAIN, QUIT), as
 * connections per second, one at a time and 8 at once. The rows log in as
 * one account again and again, so after the first login Mailstead answers
 * from its verified-credential cache (domain/credential-cache.ts; a miss costs
 * a scrypt verification, N=2^15, r=8: ~32 MiB). The harness's Dovecot stores
 * {PLAIN} passwords and has no auth cache (auth_cache_size defaults to 0);
 * the imaps rows are run again against Dovecot with ARGON2ID hashes (its
 * memory-hard scheme, doveadm's default cost): that row shows what an uncached
 * memory-hard login costs, not a like-for-like figure.
 */
import { Pop3Client } from '../../src/tools/clients/pop3-client.js';
import { BenchImapClient } from '../lib/imap-client.js';
import type { Account, BenchServer } from '../lib/servers.js';
import { useArgon2Passwords } from '../lib/servers.js';
import { alternate, type BenchContext, plan, type Row, row } from '../lib/suite.js';

type Login = (s: BenchServer, account: Account) => Promise<void>;

const imapsLogin: Login = async (s, account) => {
  const c = await BenchImapClient.login({ port: s.imaps, certPem: s.certPem, ...account });
  await c.logout();
};

const pop3sLogin: Login = async (s, account) => {
  const c = new Pop3Client({ host: '127.0.0.1', port: s.pop3s, security: 'tls', ca: [s.certPem], servername: 'localhost' });
  await c.connect();
  await c.login(account.user, account.password);
  await c.quit();
};

/**
 * `total` logins spread over `parallel` workers; returns connections per second.
 * One worker logs in as `user` (the benchmark mailbox); several use one crowd account each.
 */
async function rate(s: BenchServer, login: Login, total: number, parallel: number): Promise<number> {
  let started = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: parallel }, async (_, worker) => {
      const account = parallel === 1 ? { user: s.user, password: s.password } : s.crowd[worker];
      while (started < total) {
        started++;
        await login(s, account);
      }
    }),
  );
  return total / ((performance.now() - t0) / 1000);
}

const SEQUENTIAL = 6;
const PARALLEL = 8;
const PARALLEL_TOTAL = 16;

export async function connectSuite(ctx: BenchContext): Promise<Row[]> {
  const rows: Row[] = [];
  for (const [proto, login] of [
    ['imaps', imapsLogin],
    ['pop3s', pop3sLogin],
  ] as const) {
    const seq = await alternate(ctx, `${proto} login, sequential`, plan(ctx, 1, 6), (s) => rate(s, login, SEQUENTIAL, 1));
    rows.push(row(`connect-${proto}-seq`, `${proto} connect+TLS+login, sequential`, 'conn/s', 'higher', seq));
    const par = await alternate(ctx, `${proto} login, ${PARALLEL} parallel`, plan(ctx, 1, 5), (s) => rate(s, login, PARALLEL_TOTAL, PARALLEL));
    rows.push(
      row(`connect-${proto}-par`, `${proto} connect+TLS+login, ${PARALLEL} parallel`, 'conn/s', 'higher', par, {
        note: `${PARALLEL} accounts with empty mailboxes, one per connection stream (the sequential row logs in to the ${ctx.messages}-message mailbox)`,
      }),
    );
  }

  const dovecot = ctx.servers.find((s) => s.name === 'dovecot');
  if (!dovecot?.dataDir) return rows;
  const restore = await useArgon2Passwords(dovecot.dataDir, [{ user: dovecot.user, password: dovecot.password }, ...dovecot.crowd]);
  if (!restore) return rows;
  try {
    // Only Dovecot is measured again; Mailstead's figures are the ones above (its hash never changes).
    const only = { ...ctx, servers: [dovecot] };
    for (const [suffix, total, parallel, runs] of [
      ['seq', SEQUENTIAL, 1, 5],
      ['par', PARALLEL_TOTAL, PARALLEL, 4],
    ] as const) {
      const values = await alternate(only, `imaps login, Dovecot ARGON2ID, ${suffix}`, plan(ctx, 1, runs), (s) => rate(s, imapsLogin, total, parallel));
      const base = rows.find((r) => r.id === `connect-imaps-${suffix}`);
      const r = row(
        `connect-imaps-${suffix}-argon2`,
        `imaps connect+TLS+login, ${suffix === 'seq' ? 'sequential' : `${PARALLEL} parallel`}, Dovecot with ARGON2ID`,
        'conn/s',
        'higher',
        values,
      );
      if (base?.results.mailstead) r.results.mailstead = base.results.mailstead;
      r.note = 'Dovecot passwd-file with {ARGON2ID} (m=64 MiB, t=3) instead of {PLAIN}; the Mailstead figure is the row above';
      rows.push(r);
    }
  } finally {
    await restore();
  }
  return rows;
}
