/**
 * Mixed load: many IMAP clients at once on one account, each in a loop of
 * sessions: connect + TLS + LOGIN, SELECT INBOX, then a few rounds of
 * UID FETCH (headers of a range, then one whole message), UID STORE of a
 * flag, APPEND of a small message, and UID STORE \Deleted + UID EXPUNGE of
 * that message; then LOGOUT. Every completed command is one operation; a NO,
 * BAD or broken connection is an error (the session starts over). The row is
 * completed operations per second over the run, errors in the detail and a
 * second row.
 *
 * The account (`mixedUser`) gets BASE messages of the corpus first. Clients
 * only expunge what they appended themselves and address messages by UID,
 * so no command depends on another client's timing. Each client has its own
 * seeded sequence of choices, the same on both servers.
 */
import { deliverAll } from '../lib/lmtp-client.js';
import { corpusMessages, fixedSizeMessage } from '../lib/corpus.js';
import { BenchImapClient } from '../lib/imap-client.js';
import type { BenchServer, ServerName } from '../lib/servers.js';
import { type BenchContext, type ClientCpu, plan, type Row, row, withClientCpu } from '../lib/suite.js';
import { prng } from '../../src/tools/speedtest/demo-mailbox.js';

const BASE = 200;
const ROUNDS_PER_SESSION = 5;

export type MixedOp = 'login' | 'select' | 'fetch' | 'store' | 'append' | 'expunge' | 'logout';

export interface MixedResult {
  ops: number;
  errors: number;
  seconds: number;
  byOp: Record<MixedOp, number>;
  /** The first few error texts, for the reader of the JSON. */
  samples: string[];
}

/** Runs `clients` clients against `s` for `seconds`; resolves when every client has logged out. */
export async function mixedLoad(s: BenchServer, clients: number, seconds: number, seed: number): Promise<MixedResult> {
  const byOp = Object.fromEntries(['login', 'select', 'fetch', 'store', 'append', 'expunge', 'logout'].map((k) => [k, 0])) as Record<MixedOp, number>;
  let errors = 0;
  const samples: string[] = [];
  const fail = (what: string) => {
    errors++;
    if (samples.length < 10) samples.push(what.slice(0, 200));
  };
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  const target = { port: s.imaps, certPem: s.certPem, user: s.mixedUser.user, password: s.mixedUser.password };

  async function client(id: number): Promise<void> {
    const rand = prng(seed + id);
    let n = 0;
    while (performance.now() < deadline) {
      let c: BenchImapClient | null = null;
      try {
        c = await BenchImapClient.login(target);
        byOp.login++;
        const session = c;
        // Counts the command when the server says OK; anything else is an error.
        const op = async (kind: MixedOp, command: string) => {
          const r = await session.command(command);
          if (!r.status.startsWith('OK')) {
            fail(`${kind}: ${r.status}`);
            return null;
          }
          byOp[kind]++;
          return r;
        };
        if (!(await op('select', 'SELECT INBOX'))) continue;
        for (let round = 0; round < ROUNDS_PER_SESSION && performance.now() < deadline; round++) {
          const from = 1 + Math.floor(rand() * (BASE - 20));
          await op('fetch', `UID FETCH ${from}:${from + 19} (UID FLAGS RFC822.SIZE ENVELOPE)`);
          await op('fetch', `UID FETCH ${1 + Math.floor(rand() * BASE)} BODY.PEEK[]`);
          await op('store', `UID STORE ${1 + Math.floor(rand() * BASE)} ${rand() < 0.5 ? '+' : '-'}FLAGS.SILENT (\\Seen)`);
          const message = fixedSizeMessage(seed * 1000 + id * 100_000 + n++, 2048 + Math.floor(rand() * 4096), s.mixedUser.user).toString('latin1');
          // LITERAL+ (RFC 7888): both servers announce it after login, so the message goes in the same write.
          const appended = await op('append', `APPEND INBOX {${message.length}+}\r\n${message}`);
          const uid = /APPENDUID \d+ (\d+)/i.exec(appended?.status ?? '')?.[1];
          if (!uid) {
            if (appended) fail(`append: no APPENDUID in ${appended.status}`);
            continue;
          }
          if (await op('store', `UID STORE ${uid} +FLAGS.SILENT (\\Deleted)`)) await op('expunge', `UID EXPUNGE ${uid}`);
        }
        await op('logout', 'LOGOUT');
      } catch (err) {
        fail(`connection: ${(err as Error).message}`);
      } finally {
        // Also after a refused SELECT: the session starts over on a new connection.
        c?.close();
      }
    }
  }
  await Promise.all(Array.from({ length: clients }, (_, i) => client(i)));
  const elapsed = (performance.now() - t0) / 1000;
  const ops = Object.values(byOp).reduce((a, b) => a + b, 0);
  return { ops, errors, seconds: elapsed, byOp, samples };
}

export async function mixedSuite(ctx: BenchContext): Promise<Row[]> {
  const clients = ctx.quick ? 4 : 20;
  const seconds = ctx.quick ? 5 : 30;
  const { runs } = plan(ctx, 0, 3);
  const base = corpusMessages(BASE, 'mixed@example.com', 7).map((m) => m.content);
  await Promise.all(ctx.servers.map((s) => deliverAll(s.lmtp, s.mixedUser.user, base, 4)));
  const rates = new Map<ServerName, number[]>(ctx.servers.map((s) => [s.name, []]));
  const errors = new Map<ServerName, number[]>(ctx.servers.map((s) => [s.name, []]));
  const detail: Record<string, MixedResult[]> = {};
  const cpu = new Map<ServerName, { cpuMs: number; wallMs: number }>(ctx.servers.map((s) => [s.name, { cpuMs: 0, wallMs: 0 }]));
  for (let run = 0; run < runs; run++) {
    const order = run % 2 ? [...ctx.servers].reverse() : ctx.servers;
    for (const s of order) {
      ctx.progress(`mixed load: ${s.name}, run ${run + 1}/${runs} (${clients} clients, ${seconds} s)`);
      const { result, cpu: used } = await withClientCpu(() => mixedLoad(s, clients, seconds, 4242 + run));
      rates.get(s.name)?.push(result.ops / result.seconds);
      errors.get(s.name)?.push(result.errors);
      (detail[s.name] ??= []).push(result);
      const c = cpu.get(s.name) as { cpuMs: number; wallMs: number };
      c.cpuMs += used.cpuMs;
      c.wallMs += used.wallMs;
    }
  }
  const clientCpu = Object.fromEntries([...cpu].map(([n, c]) => [n, { ...c, percent: (c.cpuMs / c.wallMs) * 100 } satisfies ClientCpu]));
  const what = `${clients} clients × ${seconds} s: login, select, fetch, store, append, expunge, logout`;
  return [
    row('mixed-load', `Mixed IMAP load, ${what}`, 'ops/s', 'higher', rates, { clientCpu, detail: { runs: detail } }),
    row('mixed-load-errors', `Mixed IMAP load, errors per ${seconds} s run`, 'errors', 'lower', errors, {
      clientCpu,
      note: 'a NO, BAD or broken connection; the first error texts are in the JSON detail of mixed-load',
    }),
  ];
}
