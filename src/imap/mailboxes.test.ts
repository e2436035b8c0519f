import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createHarness, message, type Harness } from './harness.test.js';

describe('IMAP mailbox commands', () => {
  let h: Harness;
  before(async () => {
    h = await createHarness({ quotaBytes: 2500 });
  });
  after(() => h.close());

  it('LIST "" "" gives the delimiter; LIST "" "*" lists all with attributes', async () => {
    const c = await h.open({ login: true });
    assert.equal(await c.cmd('LIST "" ""'), '* LIST (\\Noselect) "/" ""\r\nt1 OK LIST completed\r\n');
    assert.equal(
      await c.cmd('LIST "" "*"'),
      '* LIST (\\HasNoChildren) "/" "INBOX"\r\n' +
        '* LIST (\\HasNoChildren \\Archive) "/" "Archive"\r\n' +
        '* LIST (\\HasNoChildren \\Drafts) "/" "Drafts"\r\n' +
        '* LIST (\\HasNoChildren \\Junk) "/" "Junk"\r\n' +
        '* LIST (\\HasNoChildren \\Sent) "/" "Sent"\r\n' +
        '* LIST (\\HasNoChildren \\Trash) "/" "Trash"\r\n' +
        't2 OK LIST completed\r\n',
    );
  });

  it('CREATE (with USE), hierarchy, % and *, RENAME, DELETE', async () => {
    const c = await h.open({ login: true });
    assert.match(await c.cmd('CREATE Projects/2024/'), /^t1 OK \[MAILBOXID \(F[0-9a-f]{24}\)\] CREATE completed\r\n$/);
    assert.match(await c.cmd('CREATE Projects'), /^t2 NO \[ALREADYEXISTS\] /);
    assert.match(await c.cmd('CREATE inbox'), /^t3 NO \[ALREADYEXISTS\] /);
    assert.match(await c.cmd('CREATE "bad*name"'), /^t4 NO \[CANNOT\] /);
    assert.match(await c.cmd('CREATE Later (USE (\\Archive))'), /^t5 OK \[MAILBOXID \(F[0-9a-f]{24}\)\] CREATE completed\r\n$/);
    assert.match(await c.cmd('CREATE Everything (USE (\\All))'), /^t6 NO \[USEATTR\] /);
    assert.equal(
      await c.cmd('LIST "" "Projects%"'),
      '* LIST (\\HasChildren) "/" "Projects"\r\nt7 OK LIST completed\r\n',
    );
    assert.equal(
      await c.cmd('LIST "Projects/" "%"'),
      '* LIST (\\HasNoChildren) "/" "Projects/2024"\r\nt8 OK LIST completed\r\n',
    );
    assert.equal(await c.cmd('LIST "" "later"'), 't9 OK LIST completed\r\n');
    assert.equal(await c.cmd('LIST "" "Later"'), '* LIST (\\HasNoChildren \\Archive) "/" "Later"\r\nt10 OK LIST completed\r\n');
    assert.match(await c.cmd('DELETE Projects'), /^t11 NO \[HASCHILDREN\] /);
    assert.equal(await c.cmd('RENAME Projects Old'), 't12 OK RENAME completed\r\n');
    assert.equal(await c.cmd('LIST "" "Old*"'), '* LIST (\\HasChildren) "/" "Old"\r\n* LIST (\\HasNoChildren) "/" "Old/2024"\r\nt13 OK LIST completed\r\n');
    assert.match(await c.cmd('RENAME Nope Other'), /^t14 NO \[NONEXISTENT\] /);
    assert.match(await c.cmd('RENAME Old Sent'), /^t15 NO \[ALREADYEXISTS\] /);
    assert.equal(await c.cmd('DELETE Old/2024'), 't16 OK DELETE completed\r\n');
    assert.equal(await c.cmd('DELETE Old'), 't17 OK DELETE completed\r\n');
    assert.match(await c.cmd('DELETE INBOX'), /^t18 NO \[CANNOT\] /);
    assert.match(await c.cmd('DELETE Old'), /^t19 NO \[NONEXISTENT\] /);
    // Modified UTF-7 names are decoded, stored as UTF-8 and written back encoded.
    assert.match(await c.cmd('CREATE "Gr&APw-n"'), /^t20 OK \[MAILBOXID \(F[0-9a-f]{24}\)\] CREATE completed\r\n$/);
    assert.ok(await h.domain.getMailbox(1, 'Grün'));
    assert.equal(await c.cmd('LIST "" "Gr*"'), '* LIST (\\HasNoChildren) "/" "Gr&APw-n"\r\nt21 OK LIST completed\r\n');
  });

  it('SUBSCRIBE, UNSUBSCRIBE, LSUB, LIST (SUBSCRIBED) and RETURN (SUBSCRIBED SPECIAL-USE STATUS)', async () => {
    const c = await h.open({ login: true });
    await c.cmd('CREATE Lists');
    assert.equal(await c.cmd('SUBSCRIBE Lists'), 't2 OK SUBSCRIBE completed\r\n');
    assert.match(await c.cmd('SUBSCRIBE Ghost'), /^t3 NO \[NONEXISTENT\]/);
    assert.equal(await c.cmd('UNSUBSCRIBE Junk'), 't4 OK UNSUBSCRIBE completed\r\n');
    const lsub = await c.cmd('LSUB "" "*"');
    assert.match(lsub, /\* LSUB \(\) "\/" "Lists"\r\n/);
    assert.doesNotMatch(lsub, /Junk/);
    const subscribed = await c.cmd('LIST (SUBSCRIBED) "" "*"');
    assert.match(subscribed, /\* LIST \(\\HasNoChildren \\Subscribed\) "\/" "Lists"\r\n/);
    assert.doesNotMatch(subscribed, /Junk/);
    await c.cmd('DELETE Lists');
    // A subscription outlives its mailbox (RFC 9051 §6.3.7) and shows as \NonExistent.
    assert.match(await c.cmd('LIST (SUBSCRIBED) "" "Lists"'), /\* LIST \(\\NonExistent \\Subscribed\) "\/" "Lists"\r\n/);
    assert.equal(
      await c.cmd('LIST "" "Junk" RETURN (SUBSCRIBED SPECIAL-USE)'),
      '* LIST (\\HasNoChildren \\Junk) "/" "Junk"\r\nt9 OK LIST completed\r\n',
    );
    assert.equal(
      await c.cmd('LIST (SPECIAL-USE) "" "*" RETURN (STATUS (MESSAGES UNSEEN))'),
      [
        '* LIST (\\HasNoChildren \\Archive) "/" "Archive"',
        '* STATUS "Archive" (MESSAGES 0 UNSEEN 0)',
        '* LIST (\\HasNoChildren \\Drafts) "/" "Drafts"',
        '* STATUS "Drafts" (MESSAGES 0 UNSEEN 0)',
        '* LIST (\\HasNoChildren \\Junk) "/" "Junk"',
        '* STATUS "Junk" (MESSAGES 0 UNSEEN 0)',
        '* LIST (\\HasNoChildren \\Archive) "/" "Later"',
        '* STATUS "Later" (MESSAGES 0 UNSEEN 0)',
        '* LIST (\\HasNoChildren \\Sent) "/" "Sent"',
        '* STATUS "Sent" (MESSAGES 0 UNSEEN 0)',
        '* LIST (\\HasNoChildren \\Trash) "/" "Trash"',
        '* STATUS "Trash" (MESSAGES 0 UNSEEN 0)',
        't10 OK LIST completed',
        '',
      ].join('\r\n'),
    );
    assert.match(await c.cmd('LIST (RECURSIVEMATCH) "" "*"'), /^t11 BAD/);
  });

  it('APPEND with APPENDUID, flags, date; TRYCREATE, TOOBIG, OVERQUOTA; STATUS', async () => {
    const c = await h.open({ login: true, ctx: { maxMessageBytes: 2000 } });
    const drafts = (await h.domain.getMailbox(1, 'Drafts'))!;
    const m = message({ subject: 'Draft one' });
    c.conn.take();
    c.conn.send(`a1 APPEND Drafts (\\Draft $Later) "14-Jul-2023 02:44:25 -0700" {${m.length}}\r\n`);
    await c.conn.waitFor('+ Ready for literal data\r\n');
    c.conn.send(Buffer.concat([m, Buffer.from('\r\n')]));
    assert.match(await c.waitTagged('a1'), new RegExp(`a1 OK \\[APPENDUID ${drafts.uidValidity} 1\\] APPEND completed\\r\\n$`));
    const stored = (await h.domain.store.listMessages(drafts.id))[0];
    assert.deepEqual(stored.flags.sort(), ['$Later', '\\Draft']);
    assert.equal(stored.internalDate.toISOString(), '2023-07-14T09:44:25.000Z');

    // LITERAL+ and MULTIAPPEND.
    assert.equal(
      await c.cmd(`APPEND Drafts {${m.length}+}\r\n${m.toString('latin1')} (\\Seen) {${m.length}+}\r\n${m.toString('latin1')}`),
      `t1 OK [APPENDUID ${drafts.uidValidity} 2:3] APPEND completed\r\n`,
    );
    assert.match(await c.cmd(`APPEND Nowhere {${m.length}+}\r\n${m.toString('latin1')}`), /^t2 NO \[TRYCREATE\] /);
    assert.match(await c.cmd(`APPEND Drafts (\\Recent) {${m.length}+}\r\n${m.toString('latin1')}`), /^t3 BAD /);
    c.conn.take();
    c.conn.send('big APPEND Drafts {5000}\r\n');
    assert.match(await c.waitTagged('big'), /^big NO \[TOOBIG\] /);
    assert.match(await c.cmd('NOOP'), /^t4 OK/);

    assert.equal(
      await c.cmd('STATUS Drafts (MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE RECENT)'),
      `* STATUS "Drafts" (MESSAGES 3 UIDNEXT 4 UIDVALIDITY ${drafts.uidValidity} UNSEEN 2 DELETED 0 SIZE ${3 * m.length} RECENT 3)\r\nt5 OK STATUS completed\r\n`,
    );
    assert.match(await c.cmd('STATUS Nope (MESSAGES)'), /^t6 NO \[NONEXISTENT\] /);

    // Quota is 2500 bytes for the account; three messages are already there.
    const big = message({ body: 'x'.repeat(1700) });
    assert.match(await c.cmd(`APPEND Drafts {${big.length}+}\r\n${big.toString('latin1')}`), /^t7 NO \[OVERQUOTA\] /);
  });
});
