import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createHarness, type Harness } from './harness.test.js';

describe('IMAP session: UTF-8, backpressure, vanished mailbox', () => {
  let h: Harness;
  before(async () => {
    h = await createHarness();
  });
  after(() => h.close());

  it('UTF8=ACCEPT: mailbox names travel as UTF-8 instead of modified UTF-7', async () => {
    const c = await h.open({ login: true });
    assert.equal(await c.cmd('ENABLE UTF8=ACCEPT'), '* ENABLED UTF8=ACCEPT\r\nt1 OK ENABLE completed\r\n');
    assert.match(await c.cmd('CREATE "Déjà vu"'), /^t2 OK \[MAILBOXID \(F[0-9a-f]{24}\)\] CREATE completed\r\n$/);
    assert.ok(await h.domain.getMailbox(1, 'Déjà vu'));
    const list = await c.cmd('LIST "" "D*"');
    assert.match(Buffer.from(list, 'latin1').toString('utf8'), /\* LIST \(\\HasNoChildren\) "\/" "Déjà vu"\r\n/);
    const rev1 = await h.open({ login: true });
    assert.match(await rev1.cmd('LIST "" "D*"'), /"D&AOk-j&AOA- vu"/);
    assert.match(await rev1.cmd('CREATE "Bad&name"'), /^t2 NO \[CANNOT\] Malformed modified UTF-7/);
  });

  it('pauses the socket when over 1 MiB piles up behind a running command, resumes after', async () => {
    const c = await h.open({ login: true });
    c.conn.take();
    c.conn.send('a SELECT INBOX\r\n');
    // Tags of the longest valid length (64 octets): 1.1 MiB in 16,500 commands, not 140,000 short ones
    // (slow on a loaded machine).
    const tag = 'n'.repeat(64);
    const count = 16_500;
    c.conn.send(`${tag} NOOP\r\n`.repeat(count));
    assert.equal(c.conn.paused, true);
    await c.conn.waitFor(new RegExp(`${tag} OK NOOP completed\r\n$`), 120_000);
    for (let i = 0; i < 3000 && c.conn.paused; i++) await new Promise((r) => setImmediate(r));
    assert.equal(c.conn.text().split(`${tag} OK NOOP completed`).length - 1, count);
    assert.equal(c.conn.paused, false);
  });

  it('a selected mailbox deleted by another session ends the session with BYE', async () => {
    await h.domain.createMailbox(1, 'Doomed');
    const a = await h.open({ login: true });
    const b = await h.open({ login: true });
    await b.cmd('SELECT Doomed');
    assert.equal(await a.cmd('DELETE Doomed'), 't1 OK DELETE completed\r\n');
    b.conn.take();
    b.conn.send('x NOOP\r\n');
    await b.conn.waitFor('* BYE').catch(() => undefined);
    assert.match(b.conn.text(), /^\* BYE Selected mailbox was deleted\r\n/);
  });

  it('deleting the selected mailbox itself returns to the authenticated state with [CLOSED]', async () => {
    await h.domain.createMailbox(1, 'Mine');
    const a = await h.open({ login: true });
    await a.cmd('SELECT Mine');
    assert.equal(await a.cmd('DELETE Mine'), '* OK [CLOSED] Selected mailbox deleted\r\nt2 OK DELETE completed\r\n');
    assert.match(await a.cmd('NOOP'), /^t3 OK/);
    assert.match(await a.cmd('FETCH 1 FLAGS'), /^t4 BAD No mailbox selected/);
  });
});
