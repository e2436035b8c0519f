import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ALICE, createHarness, message, type Harness } from './harness.test.js';

describe('IMAP STORE, SEARCH, COPY, MOVE, EXPUNGE', () => {
  let h: Harness;
  before(async () => {
    h = await createHarness();
    await h.domain.deliver(ALICE, message({ subject: 'Lunch plans', from: 'Bob <bob@example.org>', body: 'Pizza at noon?' }));
    await h.domain.deliver(ALICE, message({ subject: '=?utf-8?q?Gr=C3=BC=C3=9Fe?=', from: 'Carol <carol@example.net>', body: 'Viele Grüße' }));
    await h.domain.deliver(ALICE, message({ subject: 'Report', from: 'Dave <dave@example.com>', body: 'Quarterly numbers', date: 'Tue, 1 Mar 2022 10:00:00 +0000' }));
    // A first session takes \Recent (RFC 3501 §2.3.2), so the FLAGS below are only the stored ones.
    await (await h.open({ login: true })).cmd('SELECT INBOX');
  });
  after(() => h.close());

  it('STORE +FLAGS, -FLAGS, FLAGS, .SILENT and UID STORE', async () => {
    const c = await h.open({ login: true });
    await c.cmd('SELECT INBOX');
    assert.equal(
      await c.cmd('STORE 1:2 +FLAGS (\\Flagged $Work)'),
      '* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work)\r\n* 1 FETCH (FLAGS (\\Flagged $Work))\r\n* 2 FETCH (FLAGS (\\Flagged $Work))\r\nt2 OK STORE completed\r\n',
    );
    assert.equal(await c.cmd('STORE 1 -FLAGS ($Work)'), '* 1 FETCH (FLAGS (\\Flagged))\r\nt3 OK STORE completed\r\n');
    assert.equal(await c.cmd('UID STORE 2 FLAGS (\\seen)'), '* 2 FETCH (UID 2 FLAGS (\\Seen))\r\nt4 OK STORE completed\r\n');
    assert.equal(await c.cmd('STORE 1:2 FLAGS.SILENT ()'), 't5 OK STORE completed\r\n');
    assert.match(await c.cmd('STORE 1 +FLAGS (\\Recent)'), /^t6 BAD \\Recent cannot be stored/);
    assert.match(await c.cmd('STORE 1 +FLAGS (\\Bogus)'), /^t7 BAD Unknown system flag/);
    assert.match(await c.cmd('STORE 9 +FLAGS (\\Seen)'), /^t8 BAD Invalid message sequence number/);
    await c.cmd('EXAMINE INBOX');
    assert.match(await c.cmd('STORE 1 +FLAGS (\\Seen)'), /^t10 NO /);
  });

  it('SEARCH keys', async () => {
    const c = await h.open({ login: true });
    await c.cmd('SELECT INBOX');
    await c.cmd('STORE 1 FLAGS.SILENT (\\Seen \\Answered)');
    await c.cmd('STORE 3 FLAGS.SILENT (\\Deleted $Todo)');
    const search = async (q: string) => {
      const r = await c.cmd(q);
      const m = /^\* SEARCH([\d ]*)\r\n\w+ OK/.exec(r);
      assert.ok(m, r);
      return m[1].trim();
    };
    assert.equal(await search('SEARCH ALL'), '1 2 3');
    assert.equal(await search('SEARCH SEEN'), '1');
    assert.equal(await search('SEARCH UNSEEN'), '2 3');
    assert.equal(await search('SEARCH ANSWERED'), '1');
    assert.equal(await search('SEARCH DELETED'), '3');
    assert.equal(await search('SEARCH UNDELETED'), '1 2');
    assert.equal(await search('SEARCH KEYWORD $Todo'), '3');
    assert.equal(await search('SEARCH UNKEYWORD $Todo'), '1 2');
    assert.equal(await search('SEARCH SUBJECT lunch'), '1');
    assert.equal(await search('SEARCH CHARSET UTF-8 SUBJECT {7+}\r\ngrüße'), '2');
    assert.equal(await search('SEARCH FROM carol'), '2');
    assert.equal(await search('SEARCH TO alice'), '1 2 3');
    assert.equal(await search('SEARCH HEADER Message-ID example.org'), '1 2 3');
    assert.equal(await search('SEARCH HEADER X-Missing ""'), '');
    assert.equal(await search('SEARCH BODY pizza'), '1');
    assert.equal(await search('SEARCH TEXT quarterly'), '3');
    assert.equal(await search('SEARCH TEXT dave@'), '3');
    assert.equal(await search('SEARCH OR FROM bob FROM dave'), '1 3');
    assert.equal(await search('SEARCH NOT FROM bob'), '2 3');
    assert.equal(await search('SEARCH 2:3 UNSEEN'), '2 3');
    assert.equal(await search('UID SEARCH UID 2:*'), '2 3');
    assert.equal(await search('SEARCH LARGER 1 SMALLER 100000'), '1 2 3');
    assert.equal(await search('SEARCH SMALLER 10'), '');
    assert.equal(await search('SEARCH SENTBEFORE 1-Jan-2000'), '1 2');
    assert.equal(await search('SEARCH SENTON 1-Mar-2022'), '3');
    assert.equal(await search('SEARCH SENTSINCE 1-Mar-2022'), '3');
    const today = new Date().toISOString().slice(0, 10).split('-');
    const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
    const imapToday = `${Number(today[2])}-${months[Number(today[1]) - 1]}-${today[0]}`;
    assert.equal(await search(`SEARCH ON ${imapToday}`), '1 2 3');
    assert.equal(await search(`SEARCH BEFORE ${imapToday}`), '');
    assert.equal(await search('SEARCH SINCE 1-Jan-2000'), '1 2 3');
    assert.equal(await search('SEARCH NEW'), '');
    assert.equal(await search('SEARCH OLD'), '1 2 3');
    assert.match(await c.cmd('SEARCH CHARSET X-UNKNOWN ALL'), /NO \[BADCHARSET \(UTF-8 US-ASCII [^)]*\)\]/);
  });

  it('ESEARCH with RETURN options, and always for IMAP4rev2', async () => {
    const c = await h.open({ login: true });
    await c.cmd('SELECT INBOX');
    assert.equal(
      await c.cmd('SEARCH RETURN (MIN MAX COUNT ALL) ALL', 'e1'),
      '* ESEARCH (TAG "e1") MIN 1 MAX 3 ALL 1:3 COUNT 3\r\ne1 OK SEARCH completed\r\n',
    );
    assert.equal(
      await c.cmd('UID SEARCH RETURN (COUNT) SUBJECT nothing-matches', 'e2'),
      '* ESEARCH (TAG "e2") UID COUNT 0\r\ne2 OK SEARCH completed\r\n',
    );
    await c.cmd('ENABLE IMAP4rev2');
    assert.equal(await c.cmd('SEARCH 1,3', 'e3'), '* ESEARCH (TAG "e3") ALL 1,3\r\ne3 OK SEARCH completed\r\n');
  });

  it('COPY and MOVE answer COPYUID; missing target gets TRYCREATE', async () => {
    const c = await h.open({ login: true });
    await c.cmd('SELECT INBOX');
    await h.domain.createMailbox(1, 'Work');
    const work = (await h.domain.getMailbox(1, 'Work'))!;
    assert.equal(await c.cmd('COPY 1:2 Work'), `t2 OK [COPYUID ${work.uidValidity} 1:2 1:2] COPY completed\r\n`);
    assert.match(await c.cmd('COPY 1 Nowhere'), /^t3 NO \[TRYCREATE\] /);
    assert.equal(await c.cmd('UID COPY 99 Work'), 't4 OK COPY completed; no messages\r\n');
    await c.cmd('SELECT Work');
    assert.equal(
      await c.cmd('MOVE 1 INBOX'),
      `* OK [COPYUID ${(await h.domain.getMailbox(1, 'INBOX'))!.uidValidity} 1 4] Moved\r\n* 1 EXPUNGE\r\nt6 OK MOVE completed\r\n`,
    );
    assert.equal(
      await c.cmd('UID MOVE 2 Archive'),
      `* OK [COPYUID ${(await h.domain.getMailbox(1, 'Archive'))!.uidValidity} 2 1] Moved\r\n* 1 EXPUNGE\r\nt7 OK MOVE completed\r\n`,
    );
    assert.match(await c.cmd('FETCH 1 FLAGS'), /^t8 BAD/);
  });

  it('EXPUNGE, UID EXPUNGE and CLOSE remove \\Deleted messages', async () => {
    await h.domain.createMailbox(1, 'Scratch');
    const scratch = (await h.domain.getMailbox(1, 'Scratch'))!;
    for (let i = 0; i < 5; i++) await h.domain.deliver(ALICE, message({ subject: `n${i}` }), 'Scratch');
    const c = await h.open({ login: true });
    await c.cmd('SELECT Scratch');
    await c.cmd('STORE 2,4,5 +FLAGS.SILENT (\\Deleted)');
    assert.equal(await c.cmd('UID EXPUNGE 1:4'), '* 4 EXPUNGE\r\n* 2 EXPUNGE\r\nt3 OK EXPUNGE completed\r\n');
    assert.equal(await c.cmd('EXPUNGE'), '* 3 EXPUNGE\r\nt4 OK EXPUNGE completed\r\n');
    await c.cmd('STORE 1 +FLAGS.SILENT (\\Deleted)');
    await c.cmd('EXAMINE Scratch');
    assert.match(await c.cmd('EXPUNGE'), /^t7 NO /);
    assert.equal(await c.cmd('CLOSE'), 't8 OK CLOSE completed\r\n');
    assert.equal((await h.domain.store.listMessages(scratch.id)).length, 2);
    await c.cmd('SELECT Scratch');
    assert.equal(await c.cmd('CLOSE'), 't10 OK CLOSE completed\r\n');
    assert.deepEqual((await h.domain.store.listMessages(scratch.id)).map((m) => m.uid), [3]);
    assert.match(await c.cmd('NOOP'), /^t11 OK/);
    assert.match(await c.cmd('UNSELECT'), /^t12 BAD/);
  });
});
