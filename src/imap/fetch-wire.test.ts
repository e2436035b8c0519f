/**
 * FETCH written straight into wire text (fetch-wire.ts).
 *
 * Flag resync (FLAGS, UID, MODSEQ, RFC822.SIZE) from the node's mailbox
 * snapshot: no message is read from the store, and the answer is still
 * exactly what the store says, after changes made by other sessions (flags,
 * keywords, expunges, new mail) that this session has not synced yet;
 * \Recent for IMAP4rev1; CHANGEDSINCE and VANISHED; and no EXPUNGE while the
 * FETCH runs (RFC 9051 §7.5.1).
 *
 * Header sync (ENVELOPE, BODYSTRUCTURE, INTERNALDATE ...): byte for byte what
 * the general FETCH writes, in one buffer per batch.
 */
import assert from 'node:assert/strict';
import { after, beforeEach, describe, it } from 'node:test';
import { ALICE, createHarness, message, type Client, type Harness } from './harness.test.js';

/** The FETCH responses of a transcript (latin1, as the fake connection gives it), literals kept inside their response. */
function fetchLines(r: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < r.length) {
    let response = '';
    for (;;) {
      const end = r.indexOf('\r\n', i);
      const part = r.slice(i, end < 0 ? r.length : end);
      response += part;
      i = end < 0 ? r.length : end + 2;
      const literal = /\{(\d+)\}$/.exec(part);
      if (!literal) break;
      response += `\r\n${r.slice(i, i + Number(literal[1]))}`;
      i += Number(literal[1]);
    }
    if (/^\* \d+ FETCH /.test(response)) out.push(response);
  }
  return out;
}

describe('FETCH FLAGS and headers written straight to the wire', () => {
  let h: Harness;
  beforeEach(async () => {
    await h?.close();
    h = await createHarness();
    for (let i = 1; i <= 6; i++) await h.domain.deliver(ALICE, message({ subject: `m${i}` }));
  });
  after(() => h.close());

  it('reads no message from the store, and writes the responses in one buffer', async () => {
    const c = await h.open({ login: true });
    await c.cmd('ENABLE IMAP4rev2');
    await c.cmd('SELECT INBOX');
    let perMessageReads = 0;
    const messagesByUid = h.domain.messagesByUid.bind(h.domain);
    h.domain.messagesByUid = (...args) => (perMessageReads++, messagesByUid(...args));
    let writes = 0;
    const write = c.conn.write.bind(c.conn);
    c.conn.write = (data) => (writes++, write(data));
    const size = message({ subject: 'm1' }).length;
    assert.equal(
      await c.cmd('UID FETCH 1:* (FLAGS RFC822.SIZE)'),
      [1, 2, 3, 4, 5, 6].map((n) => `* ${n} FETCH (UID ${n} FLAGS () RFC822.SIZE ${size})\r\n`).join('') + 't3 OK FETCH completed\r\n',
    );
    // The six responses in one write, the tagged OK in another.
    assert.equal(writes, 2);
    assert.equal(
      await c.cmd('FETCH 2:3 (MODSEQ UID FLAGS)'),
      '* OK [HIGHESTMODSEQ 7] Highest mailbox mod-sequence\r\n' +
        '* 2 FETCH (MODSEQ (3) UID 2 FLAGS ())\r\n* 3 FETCH (MODSEQ (4) UID 3 FLAGS ())\r\nt4 OK FETCH completed\r\n',
    );
    assert.equal(perMessageReads, 0);
  });

  it('gives the flags the store holds after another session changed them, keywords announced first', async () => {
    const [c, other] = await twoSessions(h);
    await other.cmd('STORE 2 +FLAGS.SILENT (\\Flagged $Work)');
    await other.cmd('STORE 4 +FLAGS.SILENT (\\Seen)');
    const r = await c.cmd('FETCH 1:4 (FLAGS)');
    assert.equal(
      r,
      '* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work)\r\n' +
        '* 1 FETCH (FLAGS ())\r\n* 2 FETCH (FLAGS (\\Flagged $Work))\r\n* 3 FETCH (FLAGS ())\r\n* 4 FETCH (FLAGS (\\Seen))\r\n' +
        // Told already: the sync after the command does not repeat them.
        't3 OK FETCH completed\r\n',
    );
    assert.equal(await c.cmd('NOOP'), 't4 OK NOOP completed\r\n');
  });

  it('leaves out a message another session expunged, sends no EXPUNGE during FETCH and says EXPUNGEISSUED', async () => {
    const [c, other] = await twoSessions(h);
    await other.cmd('STORE 2 +FLAGS.SILENT (\\Deleted)');
    await other.cmd('EXPUNGE');
    await h.domain.deliver(ALICE, message({ subject: 'new' }));
    const r = await c.cmd('FETCH 1:3 (UID FLAGS)');
    assert.equal(
      r,
      '* 1 FETCH (UID 1 FLAGS ())\r\n* 3 FETCH (UID 3 FLAGS ())\r\n' +
        // New mail may be announced after a FETCH; the expunge may not (RFC 9051 §7.5.1).
        '* 7 EXISTS\r\n' +
        't3 NO [EXPUNGEISSUED] Some of the requested messages no longer exist\r\n',
    );
    // Still numbered 2 until the client may be told: the same answer again.
    assert.match(await c.cmd('FETCH 2 (FLAGS)'), /^t4 NO \[EXPUNGEISSUED\]/);
    assert.equal(await c.cmd('NOOP'), '* 2 EXPUNGE\r\nt5 OK NOOP completed\r\n');
    assert.equal(await c.cmd('UID FETCH 7 (FLAGS)'), '* 6 FETCH (UID 7 FLAGS ())\r\nt6 OK FETCH completed\r\n');
  });

  it('puts \\Recent first for an IMAP4rev1 session, with keywords', async () => {
    const c = await h.open({ login: true });
    const other = await h.open({ login: true });
    await other.cmd('ENABLE IMAP4rev2');
    await other.cmd('SELECT INBOX');
    await other.cmd('STORE 1 +FLAGS.SILENT (\\Seen $Later)');
    assert.match(await c.cmd('SELECT INBOX'), /\* 6 RECENT\r\n/);
    assert.deepEqual(fetchLines(await c.cmd('FETCH 1:2 (FLAGS UID)')), [
      '* 1 FETCH (FLAGS (\\Recent \\Seen $Later) UID 1)',
      '* 2 FETCH (FLAGS (\\Recent) UID 2)',
    ]);
    await other.cmd('STORE 2 +FLAGS.SILENT (\\Answered)');
    assert.deepEqual(fetchLines(await c.cmd('FETCH 2 (FLAGS)')), ['* 2 FETCH (FLAGS (\\Recent \\Answered))']);
    // A later session sees none of them as recent.
    const late = await h.open({ login: true });
    await late.cmd('SELECT INBOX');
    assert.deepEqual(fetchLines(await late.cmd('FETCH 2 (FLAGS)')), ['* 2 FETCH (FLAGS (\\Answered))']);
  });

  it('CHANGEDSINCE answers what changed after the MODSEQ, with VANISHED (EARLIER) for what went (RFC 7162 §3.1.4.1, §3.2.6)', async () => {
    const c = await h.open({ login: true });
    const other = await h.open({ login: true });
    await c.cmd('ENABLE QRESYNC IMAP4rev2');
    await other.cmd('ENABLE IMAP4rev2');
    assert.match(await c.cmd('SELECT INBOX'), /HIGHESTMODSEQ 7\]/);
    await other.cmd('SELECT INBOX');
    await other.cmd('STORE 3 +FLAGS.SILENT (\\Flagged)'); // MODSEQ 8
    await other.cmd('STORE 5 +FLAGS.SILENT (\\Deleted)'); // 9
    await other.cmd('EXPUNGE'); // 10
    assert.equal(
      await c.cmd('FETCH 1:* (UID) (CHANGEDSINCE 7)'),
      '* 3 FETCH (UID 3 MODSEQ (8))\r\n' +
        // The flag change the FETCH did not tell, from the sync after it; the expunge is held back (RFC 9051 §7.5.1).
        '* 3 FETCH (UID 3 FLAGS (\\Flagged) MODSEQ (8))\r\n' +
        't3 NO [EXPUNGEISSUED] Some of the requested messages no longer exist\r\n',
    );
    assert.equal(await c.cmd('NOOP'), '* VANISHED 5\r\nt4 OK NOOP completed\r\n');
    assert.equal(
      await c.cmd('UID FETCH 1:* (FLAGS) (CHANGEDSINCE 7 VANISHED)'),
      '* VANISHED (EARLIER) 5\r\n* 3 FETCH (UID 3 FLAGS (\\Flagged) MODSEQ (8))\r\nt5 OK FETCH completed\r\n',
    );
    assert.equal(await c.cmd('UID FETCH 1:* (FLAGS) (CHANGEDSINCE 8)'), 't6 OK FETCH completed\r\n');
  });

  it('gives what the store says through random changes by other sessions (3 sessions, 40 rounds)', async () => {
    const checker = await h.open({ login: true });
    const writer = await h.open({ login: true });
    const bystander = await h.open({ login: true });
    for (const c of [checker, writer, bystander]) {
      await c.cmd('ENABLE IMAP4rev2');
      await c.cmd('SELECT INBOX');
    }
    const mailboxId = (await h.domain.getMailbox(1, 'INBOX'))!.id;
    let seed = 12345;
    const random = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed % n);
    const flagSets = ['\\Seen', '\\Flagged', '\\Answered \\Seen', '$Work', '$Later \\Draft', 'Todo $Work'];
    for (let round = 0; round < 40; round++) {
      // The checker knows the mailbox as it is now.
      await checker.cmd('NOOP');
      const known = (await h.domain.store.listMessages(mailboxId)).map((m) => m.uid);
      const since = (await h.domain.mailboxById(mailboxId))!.highestModSeq;
      for (let k = random(4); k >= 0; k--) await change(h, mailboxId, writer, random, flagSets);
      if (random(2)) await bystander.cmd('NOOP');
      const now = new Map((await h.domain.store.listMessages(mailboxId)).map((m) => [m.uid, m]));
      const changedSince = random(3) === 0;
      const r = await checker.cmd(changedSince ? `FETCH 1:* (UID FLAGS RFC822.SIZE) (CHANGEDSINCE ${since})` : 'FETCH 1:* (UID FLAGS RFC822.SIZE MODSEQ)');
      const expected: string[] = [];
      known.forEach((uid, i) => {
        const m = now.get(uid);
        if (!m || (changedSince && m.modSeq <= since)) return;
        expected.push(`* ${i + 1} FETCH (UID ${uid} FLAGS (${m.flags.join(' ')}) RFC822.SIZE ${m.size} MODSEQ (${m.modSeq}))`);
      });
      assert.deepEqual(fetchLines(r), expected, `round ${round}`);
      assert.doesNotMatch(r, /\* \d+ EXPUNGE/);
      const gone = known.some((uid) => !now.has(uid));
      assert.match(r, gone ? /t\d+ NO \[EXPUNGEISSUED\]/ : /t\d+ OK FETCH completed\r\n$/);
    }
  });
});

/** Two IMAP4rev2 sessions with INBOX selected (tags t1, t2 used). */
async function twoSessions(h: Harness): Promise<[Client, Client]> {
  const sessions: Client[] = [];
  for (let i = 0; i < 2; i++) {
    const c = await h.open({ login: true });
    await c.cmd('ENABLE IMAP4rev2');
    await c.cmd('SELECT INBOX');
    sessions.push(c);
  }
  return [sessions[0]!, sessions[1]!];
}

/** One random change by `c` (UID commands, on what the store holds now): flags set or cleared, a message expunged, or new mail. */
async function change(h: Harness, mailboxId: number, c: Client, random: (n: number) => number, flagSets: string[]): Promise<void> {
  const uids = (await h.domain.store.listMessages(mailboxId)).map((m) => m.uid);
  const uid = uids[random(uids.length)];
  const kind = random(6);
  if (kind === 0 || uid === undefined) {
    await c.cmd(`APPEND INBOX {${message().length}+}\r\n${message().toString('latin1')}`);
  } else if (kind === 1 && uids.length > 2) {
    await c.cmd(`UID STORE ${uid} +FLAGS.SILENT (\\Deleted)`);
    await c.cmd(`UID EXPUNGE ${uid}`);
  } else {
    await c.cmd(`UID STORE ${uid} ${['+', '-', ''][random(3)]}FLAGS.SILENT (${flagSets[random(flagSets.length)]})`);
  }
}

describe('FETCH of headers and metadata written straight to the wire', () => {
  let h: Harness;
  beforeEach(async () => {
    await h?.close();
    h = await createHarness();
    await h.domain.deliver(ALICE, message({ subject: 'Caf\u00e9 "menu"', from: 'J\u00f6rg <j@example.org>' }));
    await h.domain.deliver(ALICE, message({ subject: '=?utf-8?q?Gr=C3=BC=C3=9Fe?=' }));
    await h.domain.deliver(
      ALICE,
      Buffer.from(
        'From: a@example.org\r\nSubject: parts\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n' +
          '--b\r\nContent-Type: application/pdf; name=x.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nAAAA\r\n--b--\r\n',
      ),
    );
  });
  after(() => h.close());

  /** What the general FETCH writes for `items` (PREVIEW takes it there; its item is cut out again). */
  const general = async (c: Client, command: string) =>
    fetchLines(await c.cmd(command.replace(/\(([^)]*)\)/, '($1 PREVIEW)'))).map((l) => l.replace(/ PREVIEW (?:"[^"]*"|\{\d+\}|NIL)(?=[ )])/, ''));

  it('writes exactly what the general FETCH writes, with and without UTF8=ACCEPT, \\Recent and keywords', async () => {
    const other = await h.open({ login: true });
    await other.cmd('ENABLE IMAP4rev2');
    await other.cmd('SELECT INBOX');
    await other.cmd('STORE 2 +FLAGS.SILENT (\\Seen $Work)');
    for (const enable of [null, 'UTF8=ACCEPT']) {
      const c = await h.open({ login: true });
      if (enable) await c.cmd(`ENABLE ${enable}`);
      await c.cmd('SELECT INBOX');
      for (const command of [
        'FETCH 1:* (ENVELOPE BODYSTRUCTURE INTERNALDATE FLAGS)',
        'UID FETCH 1:* (BODY RFC822.SIZE EMAILID THREADID SAVEDATE MODSEQ)',
        'UID FETCH 2:3 (FLAGS ENVELOPE) (CHANGEDSINCE 1)',
      ]) {
        const wire = fetchLines(await c.cmd(command));
        assert.equal(wire.length, command.startsWith('UID FETCH 2:3') ? 2 : 3, command);
        assert.deepEqual(wire, await general(c, command), `${command} ${enable ?? ''}`);
        // The first IMAP4rev1 session took \Recent: its FLAGS carry it first.
        if (command.includes('FLAGS')) assert.equal(wire[0]!.includes('FLAGS (\\Recent'), enable === null, wire[0]);
      }
    }
  });

  it('sends a header sync of a few hundred messages in one write, with the store\'s flags after another session changed them', async () => {
    for (let i = 0; i < 300; i++) await h.domain.deliver(ALICE, message({ subject: `bulk ${i}` }));
    const c = await h.open({ login: true });
    const other = await h.open({ login: true });
    await c.cmd('ENABLE IMAP4rev2');
    await c.cmd('SELECT INBOX');
    await other.cmd('ENABLE IMAP4rev2');
    await other.cmd('SELECT INBOX');
    await other.cmd('STORE 100 FLAGS.SILENT (\\Answered $Later)');
    let writes = 0;
    const write = c.conn.write.bind(c.conn);
    c.conn.write = (data) => (writes++, write(data));
    const r = await c.cmd('FETCH 1:* (ENVELOPE BODYSTRUCTURE INTERNALDATE FLAGS)');
    assert.equal(fetchLines(r).length, 303);
    assert.match(r, /^\* FLAGS \([^)]*\$Later\)\r\n/, 'the new keyword first');
    assert.match(r, /\r\n\* 100 FETCH \(ENVELOPE \([^\r]* INTERNALDATE "[^"]+" FLAGS \(\\Answered \$Later\)\)\r\n/);
    // FLAGS, the 303 responses, the tagged OK.
    assert.equal(writes, 3);
    assert.equal(await c.cmd('NOOP'), 't4 OK NOOP completed\r\n');
  });
});
