/**
 * RFC 7162 transcripts (CONDSTORE and QRESYNC), after the RFC's own examples,
 * against sessions on a fake connection. MODSEQs are deterministic: a new
 * mailbox starts at 1 and each delivery, STORE or EXPUNGE takes the next one.
 */
import assert from 'node:assert/strict';
import { after, beforeEach, describe, it } from 'node:test';
import { ALICE, createHarness, message, type Harness } from './harness.test.js';

describe('RFC 7162 CONDSTORE', () => {
  let h: Harness;
  beforeEach(async () => {
    await h?.close();
    h = await createHarness();
    // Messages 1..4 at MODSEQ 2..5.
    for (let i = 1; i <= 4; i++) await h.domain.deliver(ALICE, message({ subject: `m${i}` }));
    // A first session takes \Recent (RFC 3501 §2.3.2), so the FLAGS below are only the stored ones.
    await (await h.open({ login: true })).cmd('SELECT INBOX');
  });
  after(() => h.close());

  it('SELECT (CONDSTORE) reports HIGHESTMODSEQ; FETCH MODSEQ and (CHANGEDSINCE) (§3.1.2, §3.1.4)', async () => {
    const c = await h.open({ login: true });
    assert.match(await c.cmd('SELECT INBOX (CONDSTORE)'), /\* OK \[HIGHESTMODSEQ 5\] Highest mailbox mod-sequence\r\n/);
    assert.equal(await c.cmd('FETCH 2 (MODSEQ)'), '* 2 FETCH (MODSEQ (3))\r\nt2 OK FETCH completed\r\n');
    assert.equal(await c.cmd('STORE 3 +FLAGS (\\Flagged)'), '* 3 FETCH (FLAGS (\\Flagged) MODSEQ (6))\r\nt3 OK STORE completed\r\n');
    // Example 4: only messages changed after the given MODSEQ, each with its MODSEQ.
    assert.equal(
      await c.cmd('FETCH 1:* (UID FLAGS) (CHANGEDSINCE 4)'),
      '* 3 FETCH (UID 3 FLAGS (\\Flagged) MODSEQ (6))\r\n* 4 FETCH (UID 4 FLAGS () MODSEQ (5))\r\nt4 OK FETCH completed\r\n',
    );
    assert.equal(await c.cmd('UID FETCH 1:* (FLAGS) (CHANGEDSINCE 6)'), 't5 OK FETCH completed\r\n');
  });

  it('a CONDSTORE-enabling command in the selected state sends HIGHESTMODSEQ once; STATUS has it', async () => {
    const c = await h.open({ login: true });
    await c.cmd('SELECT INBOX');
    assert.equal(
      await c.cmd('FETCH 1 (MODSEQ)'),
      '* OK [HIGHESTMODSEQ 5] Highest mailbox mod-sequence\r\n* 1 FETCH (MODSEQ (2))\r\nt2 OK FETCH completed\r\n',
    );
    assert.equal(await c.cmd('FETCH 1 (MODSEQ)'), '* 1 FETCH (MODSEQ (2))\r\nt3 OK FETCH completed\r\n');
    assert.equal(await c.cmd('STATUS Sent (HIGHESTMODSEQ)'), '* STATUS "Sent" (HIGHESTMODSEQ 1)\r\nt4 OK STATUS completed\r\n');
  });

  it('STORE (UNCHANGEDSINCE) changes only what nobody changed since, and names the rest in [MODIFIED] (example 10)', async () => {
    const c = await h.open({ login: true });
    const other = await h.open({ login: true });
    await c.cmd('SELECT INBOX (CONDSTORE)');
    await other.cmd('SELECT INBOX');
    await other.cmd('STORE 1,3 +FLAGS.SILENT (\\Seen)'); // MODSEQ 6 on 1 and 3
    assert.equal(
      await c.cmd('STORE 1,2,3 (UNCHANGEDSINCE 5) +FLAGS.SILENT (\\Deleted)'),
      '* 2 FETCH (MODSEQ (7))\r\n' +
        // The changes this session has not seen yet come after the command, as for any command.
        '* 1 FETCH (UID 1 FLAGS (\\Seen) MODSEQ (6))\r\n* 3 FETCH (UID 3 FLAGS (\\Seen) MODSEQ (6))\r\n' +
        't2 OK [MODIFIED 1,3] Conditional STORE failed\r\n',
    );
    assert.deepEqual(
      (await h.domain.store.listMessages(1)).map((m) => [m.uid, m.flags.join(' ')]),
      [[1, '\\Seen'], [2, '\\Deleted'], [3, '\\Seen'], [4, '']],
    );
    // UID STORE names UIDs; UNCHANGEDSINCE 0 always fails (§3.1.3).
    assert.equal(
      await c.cmd('UID STORE 2:4 (UNCHANGEDSINCE 0) +FLAGS (\\Answered)'),
      't3 OK [MODIFIED 2:4] Conditional STORE failed\r\n',
    );
    // Not .SILENT: the new flags and MODSEQ of what passed the test.
    assert.equal(
      await c.cmd('UID STORE 3,4 (UNCHANGEDSINCE 6) FLAGS (\\Answered)'),
      '* 3 FETCH (UID 3 FLAGS (\\Answered) MODSEQ (8))\r\n* 4 FETCH (UID 4 FLAGS (\\Answered) MODSEQ (8))\r\nt4 OK STORE completed\r\n',
    );
  });

  it('SEARCH MODSEQ answers with the highest MODSEQ of the result (§3.1.5), in SEARCH and ESEARCH', async () => {
    const c = await h.open({ login: true });
    await c.cmd('SELECT INBOX');
    await c.cmd('STORE 2 +FLAGS.SILENT (\\Answered)'); // MODSEQ 6
    const search = await c.cmd('SEARCH MODSEQ 4');
    assert.match(search, /\* SEARCH 2 3 4 \(MODSEQ 6\)\r\nt3 OK SEARCH completed\r\n$/);
    assert.equal(await c.cmd('SEARCH MODSEQ 7'), '* SEARCH\r\nt4 OK SEARCH completed\r\n');
    assert.equal(await c.cmd('SEARCH OR NOT MODSEQ 3 DELETED'), '* SEARCH 1 (MODSEQ 2)\r\nt5 OK SEARCH completed\r\n');
    assert.equal(
      await c.cmd('UID SEARCH RETURN (ALL COUNT) MODSEQ "/flags/\\\\answered" all 3'),
      '* ESEARCH (TAG "t6") UID ALL 2:4 COUNT 3 MODSEQ 6\r\nt6 OK SEARCH completed\r\n',
    );
    assert.equal(await c.cmd('SEARCH RETURN (MIN) MODSEQ 3'), '* ESEARCH (TAG "t7") MIN 2 MODSEQ 6\r\nt7 OK SEARCH completed\r\n');
  });

  it('once CONDSTORE is on, FETCH responses for other sessions\' flag changes carry MODSEQ (§3.1.4)', async () => {
    const c = await h.open({ login: true });
    const other = await h.open({ login: true });
    await c.cmd('ENABLE CONDSTORE');
    await c.cmd('SELECT INBOX');
    await other.cmd('SELECT INBOX');
    await other.cmd('STORE 2 +FLAGS (\\Flagged)');
    assert.equal(await c.cmd('NOOP'), '* 2 FETCH (UID 2 FLAGS (\\Flagged) MODSEQ (6))\r\nt3 OK NOOP completed\r\n');
    // A change that leaves the flags as they were still moves the MODSEQ, which a CONDSTORE client is told.
    await other.cmd('STORE 2 -FLAGS (\\Flagged)');
    await other.cmd('STORE 2 +FLAGS (\\Flagged)');
    assert.equal(await c.cmd('NOOP'), '* 2 FETCH (UID 2 FLAGS (\\Flagged) MODSEQ (8))\r\nt4 OK NOOP completed\r\n');
    // FETCH that sets \Seen reports the new FLAGS and MODSEQ.
    assert.equal(await c.cmd('FETCH 1 (BODY[HEADER.FIELDS (SUBJECT)])'),
      '* 1 FETCH (BODY[HEADER.FIELDS (SUBJECT)] {15}\r\nSubject: m1\r\n\r\n FLAGS (\\Seen) MODSEQ (9))\r\nt5 OK FETCH completed\r\n');
    // EXPUNGE's tagged OK carries the new HIGHESTMODSEQ (§3.2.7).
    await c.cmd('STORE 4 +FLAGS.SILENT (\\Deleted)');
    assert.equal(await c.cmd('EXPUNGE'), '* 4 EXPUNGE\r\nt7 OK [HIGHESTMODSEQ 11] EXPUNGE completed\r\n');
  });
});

describe('RFC 7162 QRESYNC', () => {
  let h: Harness;
  let uidValidity: number;
  beforeEach(async () => {
    await h?.close();
    h = await createHarness();
    for (let i = 1; i <= 6; i++) await h.domain.deliver(ALICE, message({ subject: `m${i}` })); // MODSEQ 2..7
    uidValidity = (await h.domain.getMailbox(1, 'INBOX'))!.uidValidity;
  });
  after(() => h.close());

  /** Another device: flags 3, expunge 2 and 5, one new message. */
  async function changeElsewhere(): Promise<void> {
    const other = await h.open({ login: true });
    await other.cmd('SELECT INBOX');
    await other.cmd('STORE 3 +FLAGS.SILENT (\\Seen)'); // 8
    await other.cmd('STORE 2,5 +FLAGS.SILENT (\\Deleted)'); // 9
    await other.cmd('EXPUNGE'); // 10
    await h.domain.deliver(ALICE, message({ subject: 'new' })); // UID 7 at 11
    await other.cmd('LOGOUT');
  }

  it('the QRESYNC parameter needs ENABLE QRESYNC (§3.2.5)', async () => {
    const c = await h.open({ login: true });
    assert.match(await c.cmd(`SELECT INBOX (QRESYNC (${uidValidity} 2))`), /^t1 BAD QRESYNC parameter requires ENABLE QRESYNC/);
  });

  it('SELECT (QRESYNC) reports VANISHED (EARLIER) and the changed messages only (example 17)', async () => {
    await changeElsewhere();
    const c = await h.open({ login: true });
    assert.equal(await c.cmd('ENABLE QRESYNC'), '* ENABLED QRESYNC\r\nt1 OK ENABLE completed\r\n');
    const r = await c.cmd(`SELECT INBOX (QRESYNC (${uidValidity} 7))`);
    assert.match(r, /\* 5 EXISTS\r\n/);
    assert.match(r, /\* OK \[HIGHESTMODSEQ 11\] /);
    assert.match(
      r,
      /\* OK \[PERMANENTFLAGS [^\r]*\r\n\* VANISHED \(EARLIER\) 2,5\r\n\* 2 FETCH \(UID 3 FLAGS \(\\Seen\) MODSEQ \(8\)\)\r\n\* 5 FETCH \(UID 7 FLAGS \(\) MODSEQ \(11\)\)\r\nt2 OK \[READ-WRITE\] SELECT completed\r\n$/,
    );
    // With known UIDs (and seq-match data, not needed since every expunge is kept) the answer is limited to them.
    const known = await c.cmd(`EXAMINE INBOX (QRESYNC (${uidValidity} 7 1:4 (1:3 1:3)))`);
    assert.match(known, /^\* OK \[CLOSED\] /);
    assert.match(known, /\* VANISHED \(EARLIER\) 2\r\n\* 2 FETCH \(UID 3 FLAGS \(\\Seen\) MODSEQ \(8\)\)\r\nt3 OK \[READ-ONLY\]/);
    // A different UIDVALIDITY: the client must resynchronise fully, so no VANISHED or FETCH.
    assert.doesNotMatch(await c.cmd(`SELECT INBOX (QRESYNC (${uidValidity + 1} 7))`), /VANISHED|FETCH/);
    // Up to date: nothing.
    assert.doesNotMatch(await c.cmd(`SELECT INBOX (QRESYNC (${uidValidity} 11))`), /VANISHED|FETCH/);
  });

  it('UID FETCH (CHANGEDSINCE m VANISHED) (example 18)', async () => {
    const c = await h.open({ login: true });
    await c.cmd('ENABLE QRESYNC');
    await c.cmd('SELECT INBOX');
    await changeElsewhere();
    const r = await c.cmd('UID FETCH 1:* (FLAGS) (CHANGEDSINCE 7 VANISHED)');
    // What this session had not yet been told goes out after the command as a plain VANISHED and FETCH;
    // VANISHED (EARLIER) lists nothing twice.
    assert.doesNotMatch(r, /EARLIER/);
    assert.match(r, /\* VANISHED 2,5\r\n/);
    const fresh = await h.open({ login: true });
    await fresh.cmd('ENABLE QRESYNC');
    await fresh.cmd('SELECT INBOX');
    assert.equal(
      await fresh.cmd('UID FETCH 1:* (FLAGS) (CHANGEDSINCE 7 VANISHED)'),
      '* VANISHED (EARLIER) 2,5\r\n* 2 FETCH (UID 3 FLAGS (\\Seen) MODSEQ (8))\r\n* 5 FETCH (UID 7 FLAGS () MODSEQ (11))\r\nt3 OK FETCH completed\r\n',
    );
    assert.equal(
      await fresh.cmd('UID FETCH 4:6 (FLAGS) (CHANGEDSINCE 2 VANISHED)'),
      '* VANISHED (EARLIER) 5\r\n* 3 FETCH (UID 4 FLAGS () MODSEQ (5))\r\n* 4 FETCH (UID 6 FLAGS () MODSEQ (7))\r\nt4 OK FETCH completed\r\n',
    );
  });

  it('after ENABLE QRESYNC expunges are reported as VANISHED, in IDLE too (§3.2.10)', async () => {
    const c = await h.open({ login: true });
    const other = await h.open({ login: true });
    await c.cmd('ENABLE QRESYNC');
    await c.cmd('SELECT INBOX');
    await other.cmd('SELECT INBOX');
    await other.cmd('STORE 1,2,4 +FLAGS.SILENT (\\Deleted)');
    await other.cmd('EXPUNGE');
    assert.equal(
      await c.cmd('NOOP'),
      '* VANISHED 1:2,4\r\nt3 OK NOOP completed\r\n',
    );
    c.conn.send('i IDLE\r\n');
    await c.conn.waitFor('+ idling\r\n');
    c.conn.take();
    await other.cmd('STORE 1 +FLAGS.SILENT (\\Deleted)');
    await c.conn.waitFor('FETCH');
    c.conn.take();
    await other.cmd('EXPUNGE');
    assert.equal(await c.conn.waitFor('VANISHED'), '* VANISHED 3\r\n');
    c.conn.send('DONE\r\n');
    await c.waitTagged('i');
    assert.equal(await c.cmd('UID FETCH 1:* (UID)'), '* 1 FETCH (UID 5)\r\n* 2 FETCH (UID 6)\r\nt4 OK FETCH completed\r\n');
  });
});
