/**
 * Resynchronisation cost (RFC 7162): a client that was offline while another
 * device made CHANGES changes to a BASE-message mailbox reconnects. Measured,
 * in octets the server sent (counted at the client's socket, TLS removed):
 *
 * - full: SELECT, then UID FETCH 1:* (UID FLAGS) — what a client without
 *   QRESYNC must do to learn flags and expunges;
 * - qresync: ENABLE QRESYNC, then SELECT (QRESYNC (uidvalidity modseq)) —
 *   VANISHED (EARLIER) and FETCH of what changed only.
 *
 * Both bring the client to the same state (checked: the QRESYNC answer names
 * every expunged UID). Octets do not vary between runs, so each server is
 * measured once per round on a fresh mailbox named after the round.
 */
import { BenchImapClient } from './lib/imap-client.js';
import type { BenchServer, ServerName } from './lib/servers.js';
import { alternate, type BenchContext, plan, type Row, row } from './lib/suite.js';

const APPEND_BATCH = 200;

export async function resyncSuite(ctx: BenchContext): Promise<Row[]> {
  const base = ctx.quick ? 200 : 2000;
  const changes = ctx.quick ? 100 : 1000;
  const full = new Map<ServerName, number[]>(ctx.servers.map((s) => [s.name, []]));
  const vanishedSeen = new Map<ServerName, number>();
  const qresync = await alternate(ctx, 'resync', plan(ctx, 0, 2), async (server, run) => {
    const mailbox = `Resync${run < 0 ? `w${-run}` : run}`;
    const offline = await prepare(server, mailbox, base, changes);
    const plain = await BenchImapClient.login(target(server));
    try {
      const selected = await plain.ok(`SELECT ${mailbox}`);
      const fetched = await plain.ok('UID FETCH 1:* (UID FLAGS)');
      if (run >= 0) full.get(server.name)?.push(selected.bytes + fetched.bytes);
    } finally {
      await plain.logout();
    }
    const quick = await BenchImapClient.login(target(server));
    try {
      const enabled = await quick.ok('ENABLE QRESYNC');
      const selected = await quick.ok(`SELECT ${mailbox} (QRESYNC (${offline.uidValidity} ${offline.modSeq}))`, true);
      const vanished = selected.lines.filter((l) => l.startsWith('* VANISHED (EARLIER)'));
      const count = vanished.reduce((n, l) => n + countSet(l.split(' ').pop() ?? ''), 0);
      if (count !== offline.expunged) throw new Error(`${server.name}: VANISHED named ${count} UIDs, ${offline.expunged} were expunged`);
      vanishedSeen.set(server.name, count);
      return enabled.bytes + selected.bytes;
    } finally {
      await quick.logout();
    }
  });
  const note = `${base} messages, ${changes} changes by another session (3/5 flag changes, 1/5 expunges, 1/5 new messages)`;
  return [
    row('resync-full', 'Resync without QRESYNC (SELECT + UID FETCH 1:* (UID FLAGS))', 'octets', 'lower', full, { note }),
    row('resync-qresync', 'Resync with QRESYNC (SELECT (QRESYNC (uidvalidity modseq)))', 'octets', 'lower', qresync, {
      note,
      detail: { vanishedUids: Object.fromEntries(vanishedSeen) },
    }),
  ];
}

function target(server: BenchServer) {
  return { port: server.imaps, certPem: server.certPem, user: server.user2, password: server.password2 };
}

/**
 * Creates and fills `mailbox`, records what an offline client knows
 * (UIDVALIDITY, HIGHESTMODSEQ), then makes `changes` changes from another
 * session. Returns the offline client's knowledge and how many UIDs went.
 */
async function prepare(server: BenchServer, mailbox: string, base: number, changes: number) {
  const c = await BenchImapClient.login(target(server));
  try {
    await c.ok(`CREATE ${mailbox}`);
    for (let done = 0; done < base; done += APPEND_BATCH) {
      const parts = [`APPEND ${mailbox}`];
      for (let i = done; i < Math.min(base, done + APPEND_BATCH); i++) {
        const m = message(`base ${i}`);
        parts.push(` {${m.length}+}\r\n${m}`);
      }
      await c.ok(parts.join(''));
    }
    const selected = await c.ok(`SELECT ${mailbox} (CONDSTORE)`, true);
    const uidValidity = Number(/UIDVALIDITY (\d+)/.exec(selected.lines.join('\n'))?.[1]);
    const modSeq = /HIGHESTMODSEQ (\d+)/.exec(selected.lines.join('\n'))?.[1];
    if (!uidValidity || !modSeq) throw new Error(`${server.name}: no UIDVALIDITY/HIGHESTMODSEQ in SELECT`);
    let nextUid = base + 1;
    let expunged = 0;
    const live: number[] = Array.from({ length: base }, (_, i) => i + 1);
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    for (let i = 0; i < changes; i++) {
      const kind = i % 5;
      if (kind <= 2) {
        const uid = live[Math.floor(random() * live.length)];
        await c.ok(`UID STORE ${uid} ${i % 2 ? '-' : '+'}FLAGS.SILENT (\\Seen $Label${i % 4})`);
      } else if (kind === 3) {
        const [uid] = live.splice(Math.floor(random() * live.length), 1);
        await c.ok(`UID STORE ${uid} +FLAGS.SILENT (\\Deleted)`);
        await c.ok(`UID EXPUNGE ${uid}`);
        expunged++;
      } else {
        const m = message(`new ${i}`);
        await c.ok(`APPEND ${mailbox} {${m.length}+}\r\n${m}`);
        live.push(nextUid++);
      }
    }
    return { uidValidity, modSeq, expunged };
  } finally {
    await c.logout();
  }
}

function message(subject: string): string {
  return [
    'From: Bench <bench@example.org>',
    'To: Bob <bob@example.com>',
    `Subject: ${subject}`,
    'Date: Mon, 7 Feb 1994 21:52:25 -0800',
    `Message-ID: <${subject.replace(/\s/g, '.')}@bench.example.org>`,
    '',
    'A message for the resync benchmark.',
    '',
  ].join('\r\n');
}

/** Number of UIDs in "1:3,7". */
function countSet(set: string): number {
  let n = 0;
  for (const part of set.split(',')) {
    const [a, b] = part.split(':').map(Number);
    n += b === undefined ? 1 : Math.abs(b - a) + 1;
  }
  return n;
}
