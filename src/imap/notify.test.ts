/**
 * RFC 5465 NOTIFY transcripts on a fake connection: the rules of NOTIFY SET
 * (§3.1, §8), the STATUS responses for other mailboxes (§5.1-5.3), the LIST
 * responses for the mailbox list (§5.4-5.5), when they are sent (at once in
 * IDLE, otherwise at the end of a command) and the mailbox filters (§6).
 */
import assert from 'node:assert/strict';
import { after, beforeEach, describe, it } from 'node:test';
import { ALICE, type Client, createHarness, type Harness, message } from './harness.test.js';

const settle = () => new Promise((r) => setTimeout(r, 30));

describe('NOTIFY (RFC 5465)', () => {
  let h: Harness;
  beforeEach(async () => {
    await h?.close();
    h = await createHarness();
    await h.domain.deliver(ALICE, message({ subject: 'first' }));
  });
  after(() => h.close());

  const uidValidity = async (name: string) => (await h.domain.getMailbox(1, name))!.uidValidity;
  const modSeq = async (name: string) => (await h.domain.getMailbox(1, name))!.highestModSeq;

  async function idle(c: Client): Promise<void> {
    c.conn.send('i IDLE\r\n');
    await c.conn.waitFor('+ idling\r\n');
    c.conn.take();
  }

  it('refuses what it cannot do: BAD for the §3.1 rules, NO [BADEVENT] for unknown events', async () => {
    const c = await h.open({ login: true });
    const badevent = 'NO [BADEVENT (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange)]';
    assert.match(await c.cmd('NOTIFY SET (PERSONAL (MailboxMetadataChange))'), new RegExp(`^t1 ${escape(badevent)} `));
    assert.match(await c.cmd('NOTIFY SET (SELECTED (AnnotationChange))'), new RegExp(`^t2 ${escape(badevent)} `));
    assert.match(await c.cmd('NOTIFY SET (PERSONAL (SomethingNew))'), /^t3 NO \[BADEVENT /);
    assert.match(await c.cmd('NOTIFY SET (SELECTED (MessageNew))'), /^t4 BAD MessageNew and MessageExpunge go together/);
    assert.match(await c.cmd('NOTIFY SET (SELECTED-DELAYED (FlagChange))'), /^t5 BAD FlagChange needs/);
    assert.match(await c.cmd('NOTIFY SET (SELECTED (MailboxName))'), /^t6 BAD MailboxName is not a message event/);
    assert.match(await c.cmd('NOTIFY SET (SELECTED NONE) (SELECTED-DELAYED NONE)'), /^t7 BAD At most one SELECTED/);
    assert.match(await c.cmd('NOTIFY SET (PERSONAL (MessageNew (UID) MessageExpunge))'), /^t8 BAD Fetch attributes are only for the selected mailbox/);
    assert.match(await c.cmd('NOTIFY SET (PERSONAL NONE'), /^t9 BAD /);
    assert.match(await c.cmd('NOTIFY SET (MAILBOXES "&Jjo" (MailboxName))'), /^t10 NO \[CANNOT\] /);
    assert.equal(await c.cmd('NOTIFY NONE'), 't11 OK NOTIFY completed\r\n');
    assert.match((await h.open()).conn.text(), /Mailstead ready/);
    const anonymous = await h.open();
    assert.match(await anonymous.cmd('NOTIFY NONE'), /^t1 BAD Command requires authentication/);
  });

  it('NOTIFY SET STATUS sends the status of every watched mailbox but the selected one', async () => {
    const c = await h.open({ login: true });
    await h.domain.deliver(ALICE, message({ subject: 'archived' }), 'Archive');
    await c.cmd('SELECT INBOX');
    const r = await c.cmd('NOTIFY SET STATUS (SELECTED (MessageNew MessageExpunge)) (MAILBOXES (Archive Drafts inbox) (MessageNew MessageExpunge))');
    assert.equal(
      r,
      `* STATUS "Archive" (MESSAGES 1 UIDNEXT 2 UIDVALIDITY ${await uidValidity('Archive')} UNSEEN 1)\r\n` +
        `* STATUS "Drafts" (MESSAGES 0 UIDNEXT 1 UIDVALIDITY ${await uidValidity('Drafts')} UNSEEN 0)\r\n` +
        't2 OK NOTIFY completed\r\n',
    );
    // With CONDSTORE on, HIGHESTMODSEQ too; without STATUS, nothing.
    await c.cmd('ENABLE CONDSTORE');
    assert.match(await c.cmd('NOTIFY SET STATUS (MAILBOXES Archive (MessageNew MessageExpunge))'), /^\* STATUS "Archive" \(MESSAGES 1 UIDNEXT 2 UIDVALIDITY \d+ UNSEEN 1 HIGHESTMODSEQ \d+\)\r\nt4 OK/);
    assert.equal(await c.cmd('NOTIFY SET (MAILBOXES Archive (MessageNew MessageExpunge))'), 't5 OK NOTIFY completed\r\n');
  });

  it('other mailboxes: one message event alone is accepted, as Dovecot does, and STATUS follows (imaptest notify)', async () => {
    const c = await h.open({ login: true });
    await h.domain.deliver(ALICE, message({ subject: 'archived' }), 'Archive');
    const v = await uidValidity('Archive');
    assert.equal(
      await c.cmd('NOTIFY SET STATUS (MAILBOXES Archive (MessageExpunge))'),
      `* STATUS "Archive" (MESSAGES 1 UIDNEXT 2 UIDVALIDITY ${v} UNSEEN 1)\r\nt1 OK NOTIFY completed\r\n`,
    );
    assert.equal(
      await c.cmd('NOTIFY SET STATUS (MAILBOXES Archive (MessageNew))'),
      `* STATUS "Archive" (MESSAGES 1 UIDNEXT 2 UIDVALIDITY ${v} UNSEEN 1)\r\nt2 OK NOTIFY completed\r\n`,
    );
    // FlagChange makes HIGHESTMODSEQ part of the STATUS (RFC 5465 §5.1), CONDSTORE or not.
    assert.equal(
      await c.cmd('NOTIFY SET STATUS (MAILBOXES Archive (FlagChange))'),
      `* STATUS "Archive" (MESSAGES 1 UIDNEXT 2 UIDVALIDITY ${v} UNSEEN 1 HIGHESTMODSEQ ${await modSeq('Archive')})\r\nt3 OK NOTIFY completed\r\n`,
    );
    // Only expunges were asked for: new mail is not reported, an expunge is.
    await c.cmd('NOTIFY SET (MAILBOXES Archive (MessageExpunge))');
    await h.domain.deliver(ALICE, message({ subject: 'more' }), 'Archive');
    await settle();
    assert.equal(await c.cmd('NOOP'), 't5 OK NOOP completed\r\n');
    const other = await h.open({ login: true });
    await other.cmd('SELECT Archive');
    await other.cmd('STORE 1 +FLAGS.SILENT (\\Deleted)');
    await other.cmd('EXPUNGE');
    await settle();
    assert.equal(await c.cmd('NOOP'), '* STATUS "Archive" (MESSAGES 1 UIDNEXT 3 UNSEEN 1)\r\nt6 OK NOOP completed\r\n');
  });

  it('a session idling on INBOX is told at once of new mail, flag changes and expunges in other folders', async () => {
    const c = await h.open({ login: true });
    await c.cmd('ENABLE CONDSTORE');
    await c.cmd('SELECT INBOX');
    await c.cmd('NOTIFY SET (SELECTED (MessageNew MessageExpunge FlagChange)) (PERSONAL (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange))');
    await idle(c);

    await h.domain.deliver(ALICE, message({ subject: 'for the archive' }), 'Archive');
    assert.equal(
      await c.conn.waitFor('STATUS'),
      `* STATUS "Archive" (MESSAGES 1 UIDNEXT 2 UNSEEN 1 HIGHESTMODSEQ ${await modSeq('Archive')})\r\n`,
    );
    c.conn.take();

    const other = await h.open({ login: true });
    await other.cmd('SELECT Archive');
    await other.cmd('STORE 1 +FLAGS (\\Seen)');
    assert.equal(await c.conn.waitFor('STATUS'), `* STATUS "Archive" (MESSAGES 1 UIDNEXT 2 UNSEEN 0 HIGHESTMODSEQ ${await modSeq('Archive')})\r\n`);
    c.conn.take();
    await other.cmd('STORE 1 +FLAGS.SILENT (\\Deleted)');
    await c.conn.waitFor('STATUS');
    c.conn.take();
    await other.cmd('EXPUNGE');
    assert.equal(await c.conn.waitFor('STATUS'), `* STATUS "Archive" (MESSAGES 0 UIDNEXT 2 UNSEEN 0 HIGHESTMODSEQ ${await modSeq('Archive')})\r\n`);
    c.conn.take();

    // The selected mailbox is reported as in plain IDLE, not by STATUS.
    await h.domain.deliver(ALICE, message({ subject: 'inbox' }));
    assert.equal(await c.conn.waitFor('EXISTS'), '* 2 EXISTS\r\n* 2 RECENT\r\n');
    await settle();
    assert.doesNotMatch(c.conn.take(), /STATUS/);
    c.conn.send('DONE\r\n');
    assert.equal(await c.waitTagged('i'), 'i OK IDLE terminated\r\n');
  });

  it('mailboxes created, renamed and deleted, and subscriptions changed, by another session are LIST responses', async () => {
    const c = await h.open({ login: true });
    await c.cmd('SELECT INBOX');
    await c.cmd('NOTIFY SET (SELECTED (MessageNew MessageExpunge)) (PERSONAL (MessageNew MessageExpunge MailboxName SubscriptionChange))');
    await idle(c);
    const other = await h.open({ login: true });

    await other.cmd('CREATE Projects/Alpha');
    assert.equal(
      await c.conn.waitFor(/Alpha"\r\n/),
      '* LIST (\\HasChildren) "/" "Projects"\r\n* LIST (\\HasNoChildren) "/" "Projects/Alpha"\r\n',
    );
    c.conn.take();
    await other.cmd('RENAME Projects Work');
    assert.equal(
      await c.conn.waitFor(/Alpha"\)\)\r\n/),
      '* LIST (\\HasChildren) "/" "Work" ("OLDNAME" ("Projects"))\r\n' +
        '* LIST (\\HasNoChildren) "/" "Work/Alpha" ("OLDNAME" ("Projects/Alpha"))\r\n',
    );
    c.conn.take();
    await other.cmd('SUBSCRIBE Work/Alpha');
    assert.equal(await c.conn.waitFor('LIST'), '* LIST (\\HasNoChildren \\Subscribed) "/" "Work/Alpha"\r\n');
    c.conn.take();
    await other.cmd('UNSUBSCRIBE Work/Alpha');
    assert.equal(await c.conn.waitFor('LIST'), '* LIST (\\HasNoChildren) "/" "Work/Alpha"\r\n');
    c.conn.take();
    await other.cmd('DELETE Work/Alpha');
    assert.equal(await c.conn.waitFor('LIST'), '* LIST (\\NonExistent) "/" "Work/Alpha"\r\n');
    c.conn.take();
    // Modified UTF-7 on the wire, as for LIST itself.
    await other.cmd('CREATE "Gr&APw-n"');
    assert.equal(await c.conn.waitFor('LIST'), '* LIST (\\HasNoChildren) "/" "Gr&APw-n"\r\n');
    c.conn.take();

    // The session's own changes are not echoed back to it.
    c.conn.send('DONE\r\n');
    await c.waitTagged('i');
    assert.equal(await c.cmd('CREATE Mine'), `t3 OK [MAILBOXID (${(await h.domain.getMailbox(1, 'Mine'))!.objectId})] CREATE completed\r\n`);
    assert.equal(await c.cmd('RENAME Mine Ours'), 't4 OK RENAME completed\r\n');
    assert.equal(await c.cmd('NOOP'), 't5 OK NOOP completed\r\n');
  });

  it('outside IDLE nothing is sent until the end of the next command, in any state', async () => {
    const c = await h.open({ login: true });
    await c.cmd('NOTIFY SET (INBOXES (MessageNew MessageExpunge)) (PERSONAL (MailboxName))');
    const other = await h.open({ login: true });
    await other.cmd('CREATE Later');
    await h.domain.deliver(ALICE, message({ subject: 'new' }));
    await settle();
    assert.equal(c.conn.text(), '');
    assert.equal(
      await c.cmd('NOOP'),
      '* LIST (\\HasNoChildren) "/" "Later"\r\n* STATUS "INBOX" (MESSAGES 2 UIDNEXT 3 UNSEEN 2)\r\nt2 OK NOOP completed\r\n',
    );
    assert.equal(await c.cmd('NOOP'), 't3 OK NOOP completed\r\n');
    // Once the mailbox is selected, its changes come as EXISTS, not STATUS.
    await c.cmd('SELECT INBOX');
    await h.domain.deliver(ALICE, message({ subject: 'newer' }));
    await settle();
    assert.equal(await c.cmd('NOOP'), '* 3 EXISTS\r\n* 3 RECENT\r\nt5 OK NOOP completed\r\n');
    // IDLE in the authenticated state works too.
    await c.cmd('UNSELECT');
    await idle(c);
    await h.domain.deliver(ALICE, message({ subject: 'newest' }));
    assert.equal(await c.conn.waitFor('STATUS'), '* STATUS "INBOX" (MESSAGES 4 UIDNEXT 5 UNSEEN 4)\r\n');
    c.conn.send('DONE\r\n');
    await c.waitTagged('i');
  });

  it('mailbox filters: MAILBOXES, SUBTREE, SUBSCRIBED, NONE stops the search; NOTIFY NONE ends it', async () => {
    const c = await h.open({ login: true });
    for (const name of ['Lists', 'Lists/ietf', 'Lists/quiet', 'Listsmore']) await h.domain.createMailbox(1, name);
    await h.domain.setSubscribed(1, 'Listsmore', true);
    await h.domain.setSubscribed(1, 'Trash', false);
    await h.domain.setSubscribed(1, 'Junk', false);
    await c.cmd('NOTIFY SET (SUBTREE Lists/quiet NONE) (SUBTREE Lists (MessageNew MessageExpunge)) (SUBSCRIBED (MessageNew MessageExpunge)) (MAILBOXES Junk (MessageNew MessageExpunge))');
    for (const name of ['Lists/quiet', 'Lists/ietf', 'Listsmore', 'Trash', 'Junk', 'Lists']) {
      await h.domain.deliver(ALICE, message({ subject: name }), name);
    }
    await settle();
    const r = await c.cmd('NOOP');
    const told = [...r.matchAll(/\* STATUS "([^"]+)"/g)].map((m) => m[1]).sort();
    assert.deepEqual(told, ['Junk', 'Lists', 'Lists/ietf', 'Listsmore']);

    assert.equal(await c.cmd('NOTIFY NONE'), 't3 OK NOTIFY completed\r\n');
    await h.domain.deliver(ALICE, message({ subject: 'after' }), 'Junk');
    await h.open({ login: true }).then((o) => o.cmd('CREATE Unheard'));
    await settle();
    assert.equal(await c.cmd('NOOP'), 't4 OK NOOP completed\r\n');
  });

  it('MessageNew with fetch attributes: each new message of the selected mailbox is fetched (§5.1)', async () => {
    const c = await h.open({ login: true });
    await c.cmd('SELECT INBOX');
    await c.cmd('NOTIFY SET (SELECTED (MessageNew (UID FLAGS BODY.PEEK[HEADER.FIELDS (Subject)]) MessageExpunge))');
    await idle(c);
    await h.domain.deliver(ALICE, message({ subject: 'pushed' }));
    const subject = 'Subject: pushed\r\n\r\n';
    assert.equal(
      await c.conn.waitFor('FETCH'),
      `* 2 EXISTS\r\n* 2 RECENT\r\n* 2 FETCH (UID 2 FLAGS (\\Recent) BODY[HEADER.FIELDS (Subject)] {${subject.length}}\r\n${subject})\r\n`,
    );
    c.conn.send('DONE\r\n');
    await c.waitTagged('i');
    // PEEK left it unseen.
    assert.match(await c.cmd('FETCH 2 FLAGS'), /\* 2 FETCH \(FLAGS \(\\Recent\)\)/);
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
