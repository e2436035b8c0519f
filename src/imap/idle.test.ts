import assert from 'node:assert/strict';
import { after, beforeEach, describe, it } from 'node:test';
import { ALICE, createHarness, message, type Harness } from './harness.test.js';

describe('IMAP concurrent sessions, IDLE and expunge timing', () => {
  let h: Harness;
  beforeEach(async () => {
    await h?.close();
    h = await createHarness();
    for (let i = 1; i <= 3; i++) await h.domain.deliver(ALICE, message({ subject: `m${i}` }));
  });
  after(() => h.close());

  const settle = () => new Promise((r) => setTimeout(r, 30));

  it('an idling session sees other sessions\' changes at once; DONE ends IDLE', async () => {
    const a = await h.open({ login: true });
    const b = await h.open({ login: true });
    await a.cmd('SELECT INBOX');
    await b.cmd('SELECT INBOX');
    b.conn.send('i1 IDLE\r\n');
    await b.conn.waitFor('+ idling\r\n');
    b.conn.take();

    await a.cmd('STORE 2 +FLAGS (\\Flagged)');
    assert.equal(await b.conn.waitFor('FETCH'), '* 2 FETCH (UID 2 FLAGS (\\Flagged))\r\n');
    b.conn.take();

    await h.domain.deliver(ALICE, message({ subject: 'new' }));
    // EXISTS and, for this IMAP4rev1 session, RECENT (RFC 3501 §7.3.2) come in one write.
    assert.equal(await b.conn.waitFor('EXISTS'), '* 4 EXISTS\r\n* 1 RECENT\r\n');
    b.conn.take();

    await a.cmd('STORE 1 +FLAGS.SILENT (\\Deleted)');
    await b.conn.waitFor('FETCH');
    b.conn.take();
    await a.cmd('EXPUNGE');
    assert.equal(await b.conn.waitFor('EXPUNGE'), '* 1 EXPUNGE\r\n');
    b.conn.take();

    b.conn.send('done\r\n');
    assert.equal(await b.waitTagged('i1'), 'i1 OK IDLE terminated\r\n');
    assert.equal(await b.cmd('FETCH 1:* (UID)'), '* 1 FETCH (UID 2)\r\n* 2 FETCH (UID 3)\r\n* 3 FETCH (UID 4)\r\nt2 OK FETCH completed\r\n');
  });

  it('a non-idle session learns of changes at its next NOOP', async () => {
    const a = await h.open({ login: true });
    const b = await h.open({ login: true });
    await a.cmd('SELECT INBOX');
    await b.cmd('SELECT INBOX');
    await a.cmd('STORE 3 +FLAGS.SILENT (\\Seen)');
    await h.domain.deliver(ALICE, message({ subject: 'new' }));
    await settle();
    assert.equal(b.conn.text(), '', 'nothing unsolicited outside IDLE or a command');
    // The new message is \Recent in b, the first session told of it (RFC 3501 §2.3.2).
    assert.equal(await b.cmd('NOOP'), '* 4 EXISTS\r\n* 1 RECENT\r\n* 3 FETCH (UID 3 FLAGS (\\Seen))\r\nt2 OK NOOP completed\r\n');
    assert.equal(await b.cmd('NOOP'), 't3 OK NOOP completed\r\n');
  });

  it('EXPUNGE is not sent during FETCH, STORE or SEARCH, but after the next command that allows it', async () => {
    const a = await h.open({ login: true });
    const b = await h.open({ login: true });
    await a.cmd('SELECT INBOX');
    await b.cmd('SELECT INBOX');
    await a.cmd('STORE 2 +FLAGS.SILENT (\\Deleted)');
    await a.cmd('EXPUNGE');
    await settle();
    // The expunged message keeps its number for b until b may be told.
    const fetch = await b.cmd('FETCH 1:3 (UID)');
    assert.equal(
      fetch,
      '* 1 FETCH (UID 1)\r\n* 3 FETCH (UID 3)\r\nt2 NO [EXPUNGEISSUED] Some of the requested messages no longer exist\r\n',
    );
    assert.equal(await b.cmd('SEARCH ALL'), '* SEARCH 1 3\r\nt3 OK SEARCH completed\r\n');
    assert.equal(await b.cmd('STORE 3 +FLAGS (\\Answered)'), '* 3 FETCH (FLAGS (\\Answered))\r\nt4 OK STORE completed\r\n');
    // UID FETCH is a different command (RFC 9051 §7.5.1): it may carry the EXPUNGE.
    // The FETCH data uses the numbers the client knows; the EXPUNGE follows it.
    assert.equal(await b.cmd('UID FETCH 3 (FLAGS)'), '* 3 FETCH (UID 3 FLAGS (\\Answered))\r\n* 2 EXPUNGE\r\nt5 OK FETCH completed\r\n');
  });

  it('held EXPUNGE goes out at NOOP', async () => {
    const a = await h.open({ login: true });
    const b = await h.open({ login: true });
    await a.cmd('SELECT INBOX');
    await b.cmd('SELECT INBOX');
    await a.cmd('STORE 1 +FLAGS.SILENT (\\Deleted)');
    await a.cmd('EXPUNGE');
    await settle();
    assert.equal(await b.cmd('FETCH 2 (UID)'), '* 2 FETCH (UID 2)\r\nt2 OK FETCH completed\r\n');
    assert.equal(await b.cmd('NOOP'), '* 1 EXPUNGE\r\nt3 OK NOOP completed\r\n');
  });

  it('IDLE pipelined with earlier commands and DONE in one chunk', async () => {
    const b = await h.open({ login: true });
    b.conn.take();
    b.conn.send('s SELECT INBOX\r\nn NOOP\r\ni IDLE\r\nDONE\r\nf UID FETCH 1 UID\r\n');
    const out = await b.waitTagged('f');
    assert.match(out, /s OK \[READ-WRITE\] SELECT completed\r\nn OK NOOP completed\r\n\+ idling\r\ni OK IDLE terminated\r\n\* 1 FETCH \(UID 1\)\r\nf OK FETCH completed\r\n$/);
  });

  it('anything but DONE during IDLE is BAD Expected DONE; keepalives are sent', async () => {
    const b = await h.open({ login: true, ctx: { idleKeepaliveMs: 20 } });
    await b.cmd('SELECT INBOX');
    b.conn.send('i IDLE\r\n');
    await b.conn.waitFor('* OK Still here\r\n* OK Still here\r\n');
    b.conn.take();
    b.conn.send('x NOOP\r\n');
    assert.match(await b.waitTagged('i'), /i BAD Expected DONE\r\n$/);
    assert.match(await b.cmd('NOOP'), /OK NOOP completed/);
  });

  it('closing the connection during IDLE unsubscribes from the bus', async () => {
    const b = await h.open({ login: true });
    await b.cmd('SELECT INBOX');
    b.conn.send('i IDLE\r\n');
    await b.conn.waitFor('+ idling');
    b.conn.session!.closed();
    b.conn.take();
    await h.domain.deliver(ALICE, message({ subject: 'after close' }));
    await settle();
    assert.equal(b.conn.text(), '');
  });
});

describe('IMAP STORE reports current flags', () => {
  it('a message changed by another session shows its real flags in the STORE response', async () => {
    const h = await createHarness();
    await h.domain.deliver(ALICE, message());
    const a = await h.open({ login: true });
    const b = await h.open({ login: true });
    await a.cmd('SELECT INBOX');
    await b.cmd('SELECT INBOX');
    await a.cmd('STORE 1 +FLAGS.SILENT (\\Seen)');
    assert.equal(await b.cmd('STORE 1 +FLAGS (\\Seen)'), '* 1 FETCH (FLAGS (\\Seen))\r\nt2 OK STORE completed\r\n');
    await h.close();
  });
});

describe('IMAP APPEND into the selected mailbox', () => {
  it('reports the new message with EXISTS before the tagged OK', async () => {
    const h = await createHarness();
    await h.domain.deliver(ALICE, message());
    const a = await h.open({ login: true });
    await a.cmd('SELECT INBOX');
    const m = message({ subject: 'mine' });
    const r = await a.cmd(`APPEND INBOX {${m.length}+}\r\n${m.toString('latin1')}`);
    assert.match(r, /^\* 2 EXISTS\r\n\* 2 RECENT\r\nt2 OK \[APPENDUID \d+ 2\] APPEND completed\r\n$/);
    await h.close();
  });
});
