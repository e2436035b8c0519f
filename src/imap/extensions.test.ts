/** QUOTA, APPENDLIMIT, atomic MULTIAPPEND, modified UTF-7 in every mailbox argument, LIST-EXTENDED details, ID, ENABLE. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MailDomain } from '../domain/mail-domain.js';
import { LocalBus } from '../notify/bus.js';
import { createHarness, message, type Harness } from './harness.test.js';

const literal = (m: Buffer) => `{${m.length}+}\r\n${m.toString('latin1')}`;

describe('IMAP mailbox-level extensions', () => {
  let h: Harness;
  before(async () => {
    h = await createHarness({ quotaBytes: 10 * 1024 });
  });
  after(() => h.close());

  it('QUOTA (RFC 9208): GETQUOTAROOT, GETQUOTA in KiB, SETQUOTA refused, STATUS DELETED-STORAGE, NO [OVERQUOTA]', async () => {
    const c = await h.open({ login: true });
    const m = message({ body: 'q'.repeat(2000) });
    assert.match(await c.cmd(`APPEND INBOX ${literal(m)}`), /OK \[APPENDUID/);
    const usedKiB = Math.ceil(m.length / 1024);
    assert.equal(
      await c.cmd('GETQUOTAROOT inbox'),
      `* QUOTAROOT "INBOX" ""\r\n* QUOTA "" (STORAGE ${usedKiB} 10)\r\nt2 OK GETQUOTAROOT completed\r\n`,
    );
    assert.equal(await c.cmd('GETQUOTA ""'), `* QUOTA "" (STORAGE ${usedKiB} 10)\r\nt3 OK GETQUOTA completed\r\n`);
    assert.match(await c.cmd('GETQUOTA "user.other"'), /^t4 NO \[NONEXISTENT\] /);
    assert.match(await c.cmd('GETQUOTAROOT Nowhere'), /^t5 NO \[NONEXISTENT\] /);
    assert.match(await c.cmd('SETQUOTA "" (STORAGE 999999)'), /^t6 NO \[NOPERM\] /);
    assert.match(await c.cmd('SETQUOTA "" (STORAGE)'), /^t7 BAD /);

    await c.cmd('SELECT INBOX');
    await c.cmd('STORE 1 +FLAGS (\\Deleted)');
    await c.cmd('UNSELECT');
    assert.equal(
      await c.cmd('STATUS INBOX (DELETED DELETED-STORAGE APPENDLIMIT)'),
      `* STATUS "INBOX" (DELETED 1 DELETED-STORAGE ${usedKiB} APPENDLIMIT 1048576)\r\nt11 OK STATUS completed\r\n`,
    );
    const big = message({ body: 'b'.repeat(9 * 1024) });
    assert.match(await c.cmd(`APPEND INBOX ${literal(big)}`), /^t12 NO \[OVERQUOTA\] Quota exceeded/);
  });

  it('STATUS MESSAGES, UNSEEN, SIZE, DELETED and DELETED-STORAGE come from the mailbox counters: no message is listed', async () => {
    const calls: string[] = [];
    const counting = new Proxy(h.domain.store, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          if (prop === 'listMessages' || prop === 'getMessages' || prop === 'getChanges') calls.push(String(prop));
          return value.apply(target, args);
        };
      },
    });
    const box = await h.domain.createMailbox(1, 'Counted');
    const a = message({ body: 'a'.repeat(100) });
    const b = message({ body: 'b'.repeat(300) });
    await h.domain.store.appendMessages(box.id, [{ content: a, flags: ['\\Seen', '\\Deleted'] }, { content: b }]);
    const c = await h.open({ login: true, ctx: { domain: new MailDomain(counting, new LocalBus()) } });
    assert.equal(
      await c.cmd('STATUS Counted (MESSAGES UNSEEN SIZE DELETED DELETED-STORAGE)'),
      `* STATUS "Counted" (MESSAGES 2 UNSEEN 1 SIZE ${a.length + b.length} DELETED 1 DELETED-STORAGE 1)\r\nt1 OK STATUS completed\r\n`,
    );
    assert.deepEqual(calls, []);
  });

  it('MULTIAPPEND is all or nothing: a batch over quota stores none of its messages', async () => {
    const c = await h.open({ login: true });
    const drafts = (await h.domain.getMailbox(1, 'Drafts'))!;
    const before = (await h.domain.store.listMessages(drafts.id)).length;
    const m = message({ body: 'm'.repeat(3000) });
    assert.match(await c.cmd(`APPEND Drafts ${literal(m)} ${literal(m)} ${literal(m)}`), /^t1 NO \[OVERQUOTA\] /);
    assert.equal((await h.domain.store.listMessages(drafts.id)).length, before);
    assert.match(await c.cmd(`APPEND Drafts ${literal(m)} ${literal(m)}`), /^t2 OK \[APPENDUID \d+ \d+:\d+\] /);
    assert.equal((await h.domain.store.listMessages(drafts.id)).length, before + 2);
  });

  it('APPENDLIMIT (RFC 7889) is announced after login and refused beyond with TOOBIG', async () => {
    const c = await h.open({ login: true, ctx: { maxMessageBytes: 3000 } });
    assert.match(await c.cmd('CAPABILITY'), / APPENDLIMIT=3000[ \r]/);
    assert.equal(await c.cmd('STATUS Sent (APPENDLIMIT)'), '* STATUS "Sent" (APPENDLIMIT 3000)\r\nt2 OK STATUS completed\r\n');
    const big = message({ body: 'x'.repeat(3000) });
    assert.match(await c.cmd(`APPEND Sent ${literal(big)}`), /^t3 NO \[TOOBIG\]/);
  });

  it('modified UTF-7 in CREATE, LIST, SELECT, STATUS, APPEND, COPY, MOVE, RENAME, SUBSCRIBE for clients without UTF8=ACCEPT', async () => {
    const c = await h.open({ login: true });
    // "Été" and "Привет" in modified UTF-7 (RFC 3501 §5.1.3).
    const ete = '&AMk-t&AOk-';
    const privet = '&BB8EQAQ4BDIENQRC-';
    assert.match(await c.cmd(`CREATE "${ete}"`), /^t1 OK \[MAILBOXID \(F[0-9a-f]{24}\)\] CREATE completed\r\n$/);
    assert.ok(await h.domain.getMailbox(1, 'Été'));
    assert.equal(await c.cmd(`LIST "" "${ete}"`), `* LIST (\\HasNoChildren) "/" "${ete}"\r\nt2 OK LIST completed\r\n`);
    assert.equal(await c.cmd(`SUBSCRIBE "${ete}"`), 't3 OK SUBSCRIBE completed\r\n');
    const m = message();
    assert.match(await c.cmd(`APPEND "${ete}" ${literal(m)}`), /^t4 OK \[APPENDUID /);
    assert.match(await c.cmd(`STATUS "${ete}" (MESSAGES)`), new RegExp(`^\\* STATUS "${ete}" \\(MESSAGES 1\\)\r\n`));
    // The untagged LIST of a SELECT is for IMAP4rev2 clients only (docs/compatibility.md C9).
    const rev2 = await h.open({ login: true });
    await rev2.cmd('ENABLE IMAP4rev2');
    assert.match(await rev2.cmd(`EXAMINE "${ete}"`), new RegExp(`\\* LIST \\(\\\\HasNoChildren\\) "/" "${ete}"\r\n`));
    const selected = await c.cmd(`SELECT "${ete}"`);
    assert.doesNotMatch(selected, /\* LIST/);
    assert.match(selected, /OK \[READ-WRITE\]/);
    assert.match(await c.cmd(`CREATE "${privet}"`), /^t7 OK \[MAILBOXID \(F[0-9a-f]{24}\)\] CREATE completed\r\n$/);
    assert.match(await c.cmd(`COPY 1 "${privet}"`), /^t8 OK \[COPYUID /);
    assert.match(await c.cmd(`MOVE 1 "${privet}/x"`), /^t9 NO \[TRYCREATE\]/);
    assert.match(await c.cmd(`MOVE 1 "${privet}"`), /OK \[COPYUID /);
    await c.cmd('UNSELECT');
    assert.equal(await c.cmd(`RENAME "${privet}" "${ete}/${privet}"`), 't12 OK RENAME completed\r\n');
    assert.equal((await h.domain.store.listMessages((await h.domain.getMailbox(1, 'Été/Привет'))!.id)).length, 2);
    assert.equal(
      await c.cmd(`LIST "" "${ete}*"`),
      `* LIST (\\HasChildren) "/" "${ete}"\r\n* LIST (\\HasNoChildren) "/" "${ete}/${privet}"\r\nt13 OK LIST completed\r\n`,
    );
    // With UTF8=ACCEPT the same names travel as UTF-8 and "&" is an ordinary character.
    const u = await h.open({ login: true });
    await u.cmd('ENABLE UTF8=ACCEPT');
    const utf8 = Buffer.from(await u.cmd('LIST "" "Été/*"'), 'latin1').toString('utf8');
    assert.equal(utf8, '* LIST (\\HasNoChildren) "/" "Été/Привет"\r\nt2 OK LIST completed\r\n');
    assert.match(await u.cmd('CREATE "R&D"'), /^t3 OK \[MAILBOXID \(F[0-9a-f]{24}\)\] CREATE completed\r\n$/);
    assert.ok(await h.domain.getMailbox(1, 'R&D'));
  });

  it('LIST-EXTENDED: RETURN (CHILDREN), REMOTE, several patterns, CHILDINFO with RECURSIVEMATCH', async () => {
    const c = await h.open({ login: true });
    await c.cmd('CREATE Top/Sub');
    await c.cmd('SUBSCRIBE Top/Sub');
    assert.equal(
      await c.cmd('LIST (REMOTE) "" ("Top" "Sent") RETURN (CHILDREN)'),
      '* LIST (\\HasNoChildren \\Sent) "/" "Sent"\r\n* LIST (\\HasChildren) "/" "Top"\r\nt3 OK LIST completed\r\n',
    );
    assert.equal(
      await c.cmd('LIST (SUBSCRIBED RECURSIVEMATCH) "" "Top"'),
      '* LIST (\\HasChildren) "/" "Top" (CHILDINFO ("SUBSCRIBED"))\r\nt4 OK LIST completed\r\n',
    );
    assert.match(await c.cmd('LIST (FROBNICATE) "" "*"'), /^t5 BAD /);
  });

  it('CREATE-SPECIAL-USE: a supported use is stored and listed; an unsupported one is NO [USEATTR]', async () => {
    const c = await h.open({ login: true });
    assert.match(await c.cmd('CREATE Old-Mail (USE (\\Archive))'), /^t1 OK \[MAILBOXID \(F[0-9a-f]{24}\)\] CREATE completed\r\n$/);
    assert.equal(
      await c.cmd('LIST (SPECIAL-USE) "" "Old-Mail"'),
      '* LIST (\\HasNoChildren \\Archive) "/" "Old-Mail"\r\nt2 OK LIST completed\r\n',
    );
    assert.match(await c.cmd('CREATE Flagged (USE (\\Flagged))'), /^t3 NO \[USEATTR\] /);
    assert.equal(await h.domain.getMailbox(1, 'Flagged'), null);
  });

  it('ENABLE turns on IMAP4rev2, UTF8=ACCEPT, CONDSTORE and QRESYNC, each once; unknown ones are ignored', async () => {
    const c = await h.open({ login: true });
    assert.equal(
      await c.cmd('ENABLE CONDSTORE QRESYNC X-UNKNOWN UTF8=ACCEPT IMAP4rev2'),
      '* ENABLED CONDSTORE QRESYNC UTF8=ACCEPT IMAP4rev2\r\nt1 OK ENABLE completed\r\n',
    );
    assert.equal(await c.cmd('ENABLE UTF8=ACCEPT QRESYNC'), '* ENABLED\r\nt2 OK ENABLE completed\r\n');
    assert.match(await c.cmd('CAPABILITY'), / CONDSTORE QRESYNC/);
  });
});
