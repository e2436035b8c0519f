import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ALICE, createHarness, message, type Harness } from './harness.test.js';

describe('IMAP SELECT and FETCH', () => {
  let h: Harness;
  before(async () => {
    h = await createHarness();
    await h.domain.deliver(ALICE, message({ subject: 'First' }));
    await h.domain.deliver(ALICE, message({ subject: 'Second', body: 'Second body' }));
  });
  after(() => h.close());

  it('SELECT reports flags, counts, UIDVALIDITY, UIDNEXT, PERMANENTFLAGS and LIST', async () => {
    const c = await h.open({ login: true });
    const inbox = (await h.domain.getMailbox(1, 'INBOX'))!;
    const r = await c.cmd('SELECT INBOX');
    assert.equal(
      r,
      '* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n' +
        '* 2 EXISTS\r\n' +
        '* 2 RECENT\r\n' +
        `* OK [UIDVALIDITY ${inbox.uidValidity}] UIDs valid\r\n` +
        '* OK [UIDNEXT 3] Predicted next UID\r\n' +
        '* OK [HIGHESTMODSEQ 3] Highest mailbox mod-sequence\r\n' +
        `* OK [MAILBOXID (${inbox.objectId})] Mailbox id\r\n` +
        '* OK [UNSEEN 1] First unseen\r\n' +
        '* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted\r\n' +
        't1 OK [READ-WRITE] SELECT completed\r\n',
    );
    // IMAP4rev2 drops RECENT and UNSEEN; selecting again reports [CLOSED] first.
    await c.cmd('ENABLE IMAP4rev2');
    const r2 = await c.cmd('EXAMINE Sent');
    assert.match(r2, /^\* OK \[CLOSED\] Previous mailbox closed\r\n\* FLAGS/);
    assert.doesNotMatch(r2, /RECENT|UNSEEN/);
    assert.match(r2, /\* OK \[PERMANENTFLAGS \(\)\] /);
    // The LIST of RFC 9051 §6.3.2 only for IMAP4rev2, with the attributes LIST gives (docs/compatibility.md C9).
    assert.match(r2, /\* LIST \(\\HasNoChildren \\Sent\) "\/" "Sent"\r\n/);
    assert.match(r2, /t3 OK \[READ-ONLY\] EXAMINE completed\r\n$/);
    assert.match(await c.cmd('SELECT Nope'), /^\* OK \[CLOSED\] Previous mailbox closed\r\nt4 NO \[NONEXISTENT\] /);
    // A failed SELECT leaves no mailbox selected.
    assert.match(await c.cmd('FETCH 1 FLAGS'), /^t5 BAD No mailbox selected/);
  });

  it('FETCH simple items; UID FETCH always includes UID', async () => {
    const c = await h.open({ login: true });
    await c.cmd('EXAMINE INBOX');
    const r = await c.cmd('FETCH 1:* (FLAGS UID RFC822.SIZE INTERNALDATE)');
    const size = message({ subject: 'First' }).length;
    assert.match(r, new RegExp(`^\\* 1 FETCH \\(FLAGS \\(\\) UID 1 RFC822.SIZE ${size} INTERNALDATE "\\d\\d-[A-Z][a-z]{2}-\\d{4} \\d\\d:\\d\\d:\\d\\d [+-]\\d{4}"\\)\r\n\\* 2 FETCH`));
    assert.equal(await c.cmd('UID FETCH 2 FLAGS'), '* 2 FETCH (UID 2 FLAGS ())\r\nt3 OK FETCH completed\r\n');
    assert.equal(await c.cmd('UID FETCH 99:* (UID)'), '* 2 FETCH (UID 2)\r\nt4 OK FETCH completed\r\n');
    assert.equal(await c.cmd('UID FETCH 50:60 (UID)'), 't5 OK FETCH completed\r\n');
    assert.match(await c.cmd('FETCH 3 FLAGS'), /^t6 BAD Invalid message sequence number/);
  });

  it('FETCH ENVELOPE, BODY, BODYSTRUCTURE, RFC822.*', async () => {
    const c = await h.open({ login: true });
    await c.cmd('EXAMINE INBOX');
    const r = await c.cmd('FETCH 1 (ENVELOPE BODY BODYSTRUCTURE)');
    assert.match(r, /^\* 1 FETCH \(ENVELOPE \("Mon, 7 Feb 1994 21:52:25 -0800" "First" \(\("Bob" NIL "bob" "example.org"\)\)/);
    assert.match(r, / BODY \("text" "plain" \("charset" "utf-8"\) NIL NIL "7bit" \d+ 1\) BODYSTRUCTURE \("text" "plain" \("charset" "utf-8"\) NIL NIL "7bit" \d+ 1 NIL NIL NIL NIL\)\)/i);
    const raw = message({ subject: 'First' });
    const header = raw.toString('latin1', 0, raw.indexOf('\r\n\r\n') + 4);
    const text = raw.toString('latin1', raw.indexOf('\r\n\r\n') + 4);
    assert.equal(
      await c.cmd('FETCH 1 (RFC822.HEADER RFC822.TEXT)'),
      `* 1 FETCH (RFC822.HEADER {${header.length}}\r\n${header} RFC822.TEXT {${text.length}}\r\n${text})\r\nt3 OK FETCH completed\r\n`,
    );
    assert.equal(
      await c.cmd('FETCH 1 RFC822'),
      `* 1 FETCH (RFC822 {${raw.length}}\r\n${raw.toString('latin1')})\r\nt4 OK FETCH completed\r\n`,
    );
  });

  it('FETCH BODY[section] and partials', async () => {
    const c = await h.open({ login: true });
    await c.cmd('EXAMINE INBOX');
    assert.equal(
      await c.cmd('FETCH 2 BODY.PEEK[HEADER.FIELDS (Subject)]'),
      '* 2 FETCH (BODY[HEADER.FIELDS (Subject)] {19}\r\nSubject: Second\r\n\r\n)\r\nt2 OK FETCH completed\r\n',
    );
    assert.equal(
      await c.cmd('FETCH 2 BODY.PEEK[TEXT]<0.6>'),
      '* 2 FETCH (BODY[TEXT]<0> {6}\r\nSecond)\r\nt3 OK FETCH completed\r\n',
    );
    assert.equal(
      await c.cmd('FETCH 2 BODY.PEEK[1]<7.4>'),
      '* 2 FETCH (BODY[1]<7> {4}\r\nbody)\r\nt4 OK FETCH completed\r\n',
    );
    assert.equal(
      await c.cmd('FETCH 2 BODY.PEEK[]<5000.10>'),
      '* 2 FETCH (BODY[]<5000> {0}\r\n)\r\nt5 OK FETCH completed\r\n',
    );
  });

  it('BODY[] sets \\Seen and returns FLAGS; BODY.PEEK and EXAMINE do not', async () => {
    const c = await h.open({ login: true });
    await c.cmd('EXAMINE INBOX');
    const examined = await c.cmd('FETCH 1 BODY[TEXT]');
    assert.doesNotMatch(examined, /FLAGS/);
    await c.cmd('SELECT INBOX');
    assert.doesNotMatch(await c.cmd('FETCH 1 BODY.PEEK[TEXT]'), /FLAGS/);
    assert.equal(await c.cmd('FETCH 1 FLAGS'), '* 1 FETCH (FLAGS ())\r\nt5 OK FETCH completed\r\n');
    assert.match(await c.cmd('FETCH 1 BODY[TEXT]'), /^\* 1 FETCH \(BODY\[TEXT\] \{\d+\}\r\n[^]*? FLAGS \(\\Seen\)\)\r\nt6 OK/);
    // Already seen: no FLAGS the second time.
    assert.doesNotMatch(await c.cmd('FETCH 1 BODY[TEXT]'), /FLAGS/);
    assert.match(await c.cmd('UID FETCH 2 RFC822.TEXT'), /^\* 2 FETCH \(UID 2 RFC822.TEXT \{\d+\}\r\n[^]*? FLAGS \(\\Seen\)\)/);
    assert.equal((await h.domain.store.listMessages((await h.domain.getMailbox(1, 'INBOX'))!.id))[0].flags.join(), '\\Seen');
    await c.cmd('STORE 1:2 -FLAGS.SILENT (\\Seen)');
  });

  it('VANISHED without QRESYNC or CHANGEDSINCE is BAD (RFC 7162 §3.2.6)', async () => {
    const c = await h.open({ login: true });
    await c.cmd('SELECT INBOX');
    assert.match(await c.cmd('UID FETCH 1 (FLAGS) (CHANGEDSINCE 1 VANISHED)'), /^t2 BAD VANISHED requires ENABLE QRESYNC/);
    await c.cmd('ENABLE QRESYNC');
    assert.match(await c.cmd('UID FETCH 1 (FLAGS) (VANISHED)'), /^t4 BAD VANISHED requires CHANGEDSINCE/);
    assert.match(await c.cmd('FETCH 1 (FLAGS) (CHANGEDSINCE 1 VANISHED)'), /^t5 BAD Unsupported FETCH modifier VANISHED/);
  });
});
