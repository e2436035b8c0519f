/**
 * Regressions found by running Dovecot's imaptest against Mailstead
 * (docs/imaptest.md): each case names the imaptest script it comes from.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ALICE, createHarness, type Client, type Harness } from './harness.test.js';

const crlf = (lines: string[]) => Buffer.from(lines.join('\r\n') + '\r\n', 'utf8');

async function results(c: Client, command: string, untagged: string): Promise<string> {
  const r = await c.cmd(command);
  const m = new RegExp(`^\\* ${untagged}([^\\r]*)\\r\\n\\w+ OK`).exec(r);
  assert.ok(m, r);
  return m[1]!.trim();
}

describe('imaptest regressions', () => {
  let h: Harness;
  before(async () => {
    h = await createHarness();
    const d = h.domain;
    const setup = await h.open({ login: true });
    for (const name of ['Dates', 'Addresses', 'Sorting', 'Threads', 'Keywords']) await setup.cmd(`CREATE ${name}`);
    // tests/search-date: the day is read in the header's own zone.
    await d.deliver(ALICE, crlf(['From: a@example.org', 'Date: Sun, 25 Mar 2007 00:00:00 +0200', '', 'x']), 'Dates');
    await d.deliver(ALICE, crlf(['From: a@example.org', 'Date: Sun, 28 Oct 2007 23:00:00 -0500', '', 'x']), 'Dates');
    // tests/search-addresses: comments inside an address.
    await d.deliver(ALICE, crlf(['From: <user-from (comment)@ (comment) domain.org>', 'To: groupname: g1@domain.org;', '', 'x']), 'Addresses');
    await d.deliver(ALICE, crlf(['From: Real <other@domain.org>', 'To: b@domain.org', '', 'x']), 'Addresses');
    // tests/sort-subject, tests/sort-addresses, tests/sort-display-to.
    await d.deliver(ALICE, crlf(['Subject: _', 'Cc: user2@domain2.org', 'To: zed <z@example.org>', '', 'x']), 'Sorting');
    await d.deliver(ALICE, crlf(['Subject: [xyz]', 'Cc: user2: blah@domain1.org;', 'To: a: xx@xx.org;', '', 'x']), 'Sorting');
    await d.deliver(ALICE, crlf(['Subject: b', 'Cc: user1@domain1.org', 'To: empty:;', '', 'x']), 'Sorting');
    // tests/thread: <c@b> was made a child of <a@b> by message 2's References; its own References
    // would make a loop, so it ends up a root.
    await d.deliver(ALICE, crlf(['Message-ID: <a@b>', 'Date: Fri, 22 Feb 2008 17:06:23 +0000', '', 'x']), 'Threads');
    await d.deliver(ALICE, crlf(['Message-ID: <b@b>', 'References: <a@b> <c@b>', 'Date: Fri, 22 Feb 2008 15:06:23 +0000', '', 'x']), 'Threads');
    await d.deliver(ALICE, crlf(['Message-ID: <c@b>', 'References: <b@b>', 'Date: Fri, 22 Feb 2008 16:06:25 +0000', '', 'x']), 'Threads');
    await d.deliver(ALICE, crlf(['Subject: k1', '', 'x']), 'Keywords');
    await d.deliver(ALICE, crlf(['Subject: k2', '', 'x']), 'Keywords');
  });
  after(() => h.close());

  it('SENTBEFORE/SENTON/SENTSINCE compare the Date header day in its own zone (search-date)', async () => {
    const c = await h.open({ login: true });
    await c.cmd('SELECT Dates');
    assert.equal(await results(c, 'SEARCH SENTON 25-Mar-2007', 'SEARCH'), '1');
    assert.equal(await results(c, 'SEARCH SENTBEFORE 25-Mar-2007', 'SEARCH'), '');
    assert.equal(await results(c, 'SEARCH SENTON 28-Oct-2007', 'SEARCH'), '2');
    assert.equal(await results(c, 'SEARCH SENTSINCE 29-Oct-2007', 'SEARCH'), '');
  });

  it('FROM/TO match addresses with comments inside them, and group names (search-addresses)', async () => {
    const c = await h.open({ login: true });
    await c.cmd('SELECT Addresses');
    assert.equal(await results(c, 'SEARCH FROM user-from@domain.org', 'SEARCH'), '1');
    assert.equal(await results(c, 'SEARCH FROM domain.org', 'SEARCH'), '1 2');
    assert.equal(await results(c, 'SEARCH TO groupname', 'SEARCH'), '1');
    assert.equal(await results(c, 'SEARCH FROM nobody@domain.org', 'SEARCH'), '');
  });

  it('SORT compares like i;unicode-casemap and sorts groups by name (sort-subject, sort-addresses, sort-display-to)', async () => {
    const c = await h.open({ login: true });
    await c.cmd('SELECT Sorting');
    assert.equal(await results(c, 'SORT (SUBJECT) US-ASCII ALL', 'SORT'), '3 2 1');
    assert.equal(await results(c, 'SORT (CC) US-ASCII ALL', 'SORT'), '3 1 2');
    assert.equal(await results(c, 'SORT (REVERSE CC) US-ASCII ALL', 'SORT'), '1 2 3');
    assert.equal(await results(c, 'SORT (DISPLAYTO) US-ASCII ALL', 'SORT'), '2 3 1');
  });

  it('THREAD=REFERENCES: a message\'s own References replace a parent it was given, even when they would loop (thread)', async () => {
    const c = await h.open({ login: true });
    await c.cmd('SELECT Threads');
    assert.equal(await results(c, 'THREAD REFERENCES US-ASCII ALL', 'THREAD'), '(3 2)(1)');
  });

  it('LIST and LSUB with a pattern that is not modified UTF-7 match nothing (atoms)', async () => {
    const c = await h.open({ login: true });
    assert.equal(await c.cmd(`LIST "" "!#$&'+,-.0123456789:;<=>?@^_\`|[}%*"`), 't1 OK LIST completed\r\n');
    assert.equal(await c.cmd('LSUB "" "&Jjo"'), 't2 OK LSUB completed\r\n');
  });

  it('LSUB with % returns an unsubscribed parent of a subscribed mailbox as \\Noselect (subscribe)', async () => {
    const c = await h.open({ login: true });
    for (const name of ['top/sub', 'top/deep/leaf', 'top/plain']) await c.cmd(`CREATE ${name}`);
    await c.cmd('SUBSCRIBE top/deep/leaf');
    await c.cmd('SUBSCRIBE top/plain');
    assert.equal(
      await c.cmd('LSUB "" top/%'),
      '* LSUB (\\Noselect) "/" "top/deep"\r\n* LSUB () "/" "top/plain"\r\nt6 OK LSUB completed\r\n',
    );
    // Without "%" the RFC 3501 §6.3.9 rule does not apply.
    assert.equal(await c.cmd('LSUB "" top/*'), '* LSUB () "/" "top/deep/leaf"\r\n* LSUB () "/" "top/plain"\r\nt7 OK LSUB completed\r\n');
  });

  it('RECURSIVEMATCH gives CHILDINFO only for a descendant no pattern of the command returns (listext 32)', async () => {
    const c = await h.open({ login: true });
    for (const name of ['lx/test2/test1', 'lx/test8/test8', 'lx/test8/test9']) await c.cmd(`CREATE ${name}`);
    for (const name of ['lx/test2/test1', 'lx/test8/test8', 'lx/test8/test9']) await c.cmd(`SUBSCRIBE ${name}`);
    // RFC 5258 §3.5: lx/test2/test1 is returned by the second pattern, so lx/test2 has no CHILDINFO to give.
    assert.equal(
      await c.cmd('LIST (SUBSCRIBED RECURSIVEMATCH) "" (lx/test2 lx/test2/test1)'),
      '* LIST (\\HasNoChildren \\Subscribed) "/" "lx/test2/test1"\r\nt7 OK LIST completed\r\n',
    );
    assert.equal(
      await c.cmd('LIST (SUBSCRIBED RECURSIVEMATCH) "" (lx/test2)'),
      '* LIST (\\HasChildren) "/" "lx/test2" (CHILDINFO ("SUBSCRIBED"))\r\nt8 OK LIST completed\r\n',
    );
    // lx/test8/test9 is not matched by the pattern: CHILDINFO, though lx/test8/test8 is returned.
    assert.equal(
      await c.cmd('LIST (SUBSCRIBED RECURSIVEMATCH) "" lx*test8'),
      '* LIST (\\HasChildren) "/" "lx/test8" (CHILDINFO ("SUBSCRIBED"))\r\n* LIST (\\HasNoChildren \\Subscribed) "/" "lx/test8/test8"\r\nt9 OK LIST completed\r\n',
    );
  });

  it('a new keyword is announced in FLAGS before the FETCH that carries it (store, copy, nil)', async () => {
    const a = await h.open({ login: true });
    const b = await h.open({ login: true });
    await a.cmd('SELECT Keywords');
    await b.cmd('SELECT Keywords');
    assert.equal(
      await a.cmd('STORE 1 +FLAGS ($Hello)'),
      '* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Hello)\r\n* 1 FETCH (FLAGS (\\Recent $Hello))\r\nt2 OK STORE completed\r\n',
    );
    // b has not synced yet: its FETCH FLAGS reads the store, so it must announce $Hello first.
    const r = await b.cmd('FETCH 1 (FLAGS)');
    assert.ok(r.startsWith('* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Hello)\r\n'), r);
    assert.ok(r.indexOf('* FLAGS') < r.indexOf('* 1 FETCH (FLAGS ($Hello))'), r);
  });

  it('STORE to a message another session expunged succeeds for the rest (stress mode)', async () => {
    const a = await h.open({ login: true });
    const b = await h.open({ login: true });
    await a.cmd('SELECT Keywords');
    await b.cmd('SELECT Keywords');
    await a.cmd('STORE 2 +FLAGS.SILENT (\\Deleted)');
    await a.cmd('EXPUNGE');
    // b learns of the expunge during a FETCH, where it may not send EXPUNGE (RFC 9051 §7.5.1).
    assert.doesNotMatch(await b.cmd('FETCH 1 (UID)'), /EXPUNGE/);
    const r = await b.cmd('STORE 1:2 +FLAGS (\\Seen)');
    assert.match(r, /\* 1 FETCH \(FLAGS \([^)]*\\Seen[^)]*\)\)\r\n/);
    assert.match(r, /t3 OK STORE completed\r\n$/);
    const noop = await b.cmd('NOOP');
    assert.match(noop, /\* 2 EXPUNGE\r\n/, noop);
  });
});
