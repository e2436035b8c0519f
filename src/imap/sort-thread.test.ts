import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createHarness, type Harness } from './harness.test.js';

function mail(o: { id: string; subject: string; day: number; from?: string; to?: string; refs?: string; inReplyTo?: string; body?: string }): Buffer {
  const lines = [
    `From: ${o.from ?? 'Bob <bob@example.org>'}`,
    `To: ${o.to ?? 'alice@example.com'}`,
    `Subject: ${o.subject}`,
    `Date: ${o.day} Mar 2024 10:00:00 +0000`,
    `Message-ID: ${o.id}`,
    ...(o.refs ? [`References: ${o.refs}`] : []),
    ...(o.inReplyTo ? [`In-Reply-To: ${o.inReplyTo}`] : []),
    '',
    o.body ?? 'body',
    '',
  ];
  return Buffer.from(lines.join('\r\n'));
}

describe('SORT and THREAD (RFC 5256)', () => {
  let h: Harness;
  before(async () => {
    h = await createHarness();
    const messages = [
      mail({ id: '<a@x>', subject: 'Topic', day: 1, from: 'Zed <zed@example.org>' }),
      mail({ id: '<b@x>', subject: 'Re: Topic', day: 2, refs: '<a@x>', from: '"Ann" <ann@example.org>', body: 'longer body here' }),
      mail({ id: '<c@x>', subject: 'RE: [list] Topic', day: 3, refs: '<a@x> <b@x>', to: 'carl@example.net' }),
      mail({ id: '<d@x>', subject: 'Other', day: 9, from: 'smith@example.org' }),
      mail({ id: '<e@x>', subject: 'Re: Topic', day: 4, inReplyTo: '<a@x>', from: '=?utf-8?q?=C3=85sa?= <asa@example.org>' }),
      mail({ id: '<f@x>', subject: 'Re: Lost', day: 5, refs: '<missing@x>' }),
      mail({ id: '<g@x>', subject: 'Lost', day: 6 }),
    ];
    // Distinct arrival times, in mailbox order, so ARRIVAL has no ties.
    const inbox = (await h.domain.getMailbox(1, 'INBOX'))!;
    for (const [i, content] of messages.entries()) {
      await h.domain.ingest(inbox, { content, internalDate: new Date(Date.UTC(2024, 3, 1 + i)) });
    }
  });
  after(() => h.close());

  it('SORT by each key, REVERSE, with search criteria, and UID SORT', async () => {
    const c = await h.open({ login: true });
    await c.cmd('SELECT INBOX');
    const sort = async (args: string) => /^\* SORT([^\r]*)\r\n/.exec(await c.cmd(args))?.[1]?.trim();
    assert.equal(await sort('SORT (DATE) UTF-8 ALL'), '1 2 3 5 6 7 4');
    assert.equal(await sort('SORT (REVERSE DATE) UTF-8 ALL'), '4 7 6 5 3 2 1');
    assert.equal(await sort('SORT (ARRIVAL) US-ASCII ALL'), '1 2 3 4 5 6 7');
    // Base subjects: lost, lost, other, topic x4; ties by sequence number.
    assert.equal(await sort('SORT (SUBJECT) UTF-8 ALL'), '6 7 4 1 2 3 5');
    assert.equal(await sort('SORT (SUBJECT REVERSE DATE) UTF-8 ALL'), '7 6 4 5 3 2 1');
    // FROM sorts by the mailbox local part; DISPLAYFROM by the decoded display name.
    assert.equal(await sort('SORT (FROM) UTF-8 ALL'), '2 5 3 6 7 4 1');
    // i;unicode-casemap (RFC 5051): "Åsa" decomposes to A + U+030A and sorts right after "Ann".
    assert.equal(await sort('SORT (DISPLAYFROM) UTF-8 ALL'), '2 5 3 6 7 4 1');
    assert.equal(await sort('SORT (TO DATE) UTF-8 ALL'), '1 2 5 6 7 4 3');
    assert.equal(await sort('SORT (SIZE) UTF-8 SUBJECT Lost'), '7 6');
    assert.equal(await sort('UID SORT (REVERSE ARRIVAL) UTF-8 UID 2:4'), '4 3 2');
    assert.equal(await sort('SORT (CC) UTF-8 SUBJECT nothing-matches'), '');
    assert.match(await c.cmd('SORT (DATE) X-UNKNOWN ALL'), /^t\d+ NO \[BADCHARSET \(UTF-8 US-ASCII [^)]*\)\] /);
    assert.match(await c.cmd('SORT (NAME) UTF-8 ALL'), /^t\d+ BAD /);
    assert.match(await c.cmd('SORT DATE UTF-8 ALL'), /^t\d+ BAD /);
  });

  it('THREAD=REFERENCES links by References and In-Reply-To and gathers subjects', async () => {
    const c = await h.open({ login: true });
    await c.cmd('SELECT INBOX');
    const r = await c.cmd('THREAD REFERENCES UTF-8 ALL');
    assert.equal(r.split('\r\n')[0], '* THREAD (1 (2 3)(5))(7 6)(4)');
    assert.equal((await c.cmd('UID THREAD REFERENCES UTF-8 NOT SUBJECT Lost')).split('\r\n')[0], '* THREAD (1 (2 3)(5))(4)');
    assert.match(await c.cmd('THREAD REFERENCES UTF-8 SUBJECT nothing'), /^\* THREAD\r\nt\d+ OK /);
  });

  it('THREAD=ORDEREDSUBJECT groups by base subject, first message as parent (RFC 5256 §4)', async () => {
    const c = await h.open({ login: true });
    await c.cmd('SELECT INBOX');
    assert.equal((await c.cmd('THREAD ORDEREDSUBJECT UTF-8 ALL')).split('\r\n')[0], '* THREAD (1 (2)(3)(5))(6 7)(4)');
    assert.match(await c.cmd('THREAD FOO UTF-8 ALL'), /^t\d+ BAD /);
  });
});
