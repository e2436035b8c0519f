/** Mailbox/get, /changes, /query and /set (RFC 8621 §2) over the account's IMAP mailboxes. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { webHarness, jmapAccountIdOf as accountIdOf, jmapCall as call, type WebHarness } from '../../../test/helpers/web-app.js';

test('Mailbox/get: the IMAP folders with roles, counts and MAILBOXID as id', async () => {
  const h = await webHarness({ tls: true });
  try {
    const accountId = await accountIdOf(h);
    const account = (await h.domain.findAccount('alice@example.com'))!;
    const inbox = (await h.domain.getMailbox(account.id, 'INBOX'))!;
    await h.domain.deliver('alice@example.com', Buffer.from('Subject: hi\r\n\r\nbody\r\n'));
    const r = await call(h, 'Mailbox/get', { accountId, ids: null });
    const byRole = Object.fromEntries(r.list.map((m: any) => [m.role, m]));
    assert.deepEqual(Object.keys(byRole).sort(), ['archive', 'drafts', 'inbox', 'junk', 'sent', 'trash']);
    assert.equal(byRole.inbox.id, inbox.objectId);
    assert.equal(byRole.inbox.name, 'INBOX');
    assert.equal(byRole.inbox.totalEmails, 1);
    assert.equal(byRole.inbox.unreadEmails, 1);
    assert.equal(byRole.inbox.parentId, null);
    assert.equal(byRole.inbox.myRights.mayDelete, false);
    const some = await call(h, 'Mailbox/get', { accountId, ids: [inbox.objectId, 'Fnothere'], properties: ['totalEmails'] });
    assert.deepEqual(some.list, [{ id: inbox.objectId, totalEmails: 1 }]);
    assert.deepEqual(some.notFound, ['Fnothere']);
    await assert.rejects(call(h, 'Mailbox/get', { accountId: 'A999' }), { message: 'accountNotFound' });
    await assert.rejects(call(h, 'Mailbox/get', { accountId, properties: ['bogus'] }), { message: 'invalidArguments' });
  } finally {
    await h.close();
  }
});

test('Mailbox/set creates, renames and destroys IMAP mailboxes; Mailbox/changes reports it', async () => {
  const h = await webHarness({ tls: true });
  try {
    const accountId = await accountIdOf(h);
    const account = (await h.domain.findAccount('alice@example.com'))!;
    const start = (await call(h, 'Mailbox/get', { accountId, ids: [] })).state;

    const made = await call(h, 'Mailbox/set', {
      accountId,
      create: { p: { name: 'Projects' }, c: { name: 'Mailstead', parentId: '#p' }, bad: { name: 'a/b' } },
    });
    assert.equal(made.oldState, start);
    assert.notEqual(made.newState, start);
    const projects = made.created.p.id;
    const child = made.created.c.id;
    assert.deepEqual(Object.keys(made.notCreated), ['bad']);
    assert.equal(made.notCreated.bad.type, 'invalidProperties');
    assert.ok(await h.domain.getMailbox(account.id, 'Projects/Mailstead'), 'IMAP sees the new mailbox');

    const changes = await call(h, 'Mailbox/changes', { accountId, sinceState: start });
    assert.deepEqual(changes.created.sort(), [projects, child].sort());
    assert.deepEqual(changes.destroyed, []);
    assert.equal(changes.newState, made.newState);

    const renamed = await call(h, 'Mailbox/set', { accountId, update: { [child]: { name: 'Web', parentId: null } } });
    assert.deepEqual(renamed.updated, { [child]: null });
    assert.ok(await h.domain.getMailbox(account.id, 'Web'));
    const got = await call(h, 'Mailbox/get', { accountId, ids: [child], properties: ['name', 'parentId'] });
    assert.deepEqual(got.list, [{ id: child, name: 'Web', parentId: null }], 'the id survives a rename (MAILBOXID)');

    await h.domain.deliver('alice@example.com', Buffer.from('Subject: x\r\n\r\nx\r\n'), 'Web');
    const refused = await call(h, 'Mailbox/set', { accountId, destroy: [child] });
    assert.equal(refused.notDestroyed[child].type, 'mailboxHasEmail');
    const inbox = (await h.domain.getMailbox(account.id, 'INBOX'))!;
    const protectedInbox = await call(h, 'Mailbox/set', { accountId, destroy: [inbox.objectId] });
    assert.equal(protectedInbox.notDestroyed[inbox.objectId].type, 'forbidden');
    const gone = await call(h, 'Mailbox/set', { accountId, destroy: [child, projects], onDestroyRemoveEmails: true });
    assert.deepEqual(gone.destroyed.sort(), [child, projects].sort());
    assert.equal(await h.domain.getMailbox(account.id, 'Web'), null);

    const after = await call(h, 'Mailbox/changes', { accountId, sinceState: made.newState });
    assert.deepEqual(after.destroyed.sort(), [child, projects].sort());
    await assert.rejects(call(h, 'Mailbox/changes', { accountId, sinceState: 'unknown-state' }), { message: 'cannotCalculateChanges' });
    await assert.rejects(call(h, 'Mailbox/set', { accountId, ifInState: made.newState, create: {} }), { message: 'stateMismatch' });
  } finally {
    await h.close();
  }
});

test('Mailbox/query filters and sorts; an IMAP change moves the Mailbox state', async () => {
  const h = await webHarness({ tls: true });
  try {
    const accountId = await accountIdOf(h);
    const account = (await h.domain.findAccount('alice@example.com'))!;
    const all = await call(h, 'Mailbox/query', { accountId, sort: [{ property: 'sortOrder' }, { property: 'name' }], calculateTotal: true });
    assert.equal(all.total, 6);
    const names = (await call(h, 'Mailbox/get', { accountId, ids: all.ids, properties: ['name'] })).list.map((m: any) => m.name);
    assert.deepEqual(names, ['INBOX', 'Archive', 'Drafts', 'Junk', 'Sent', 'Trash']);
    const noRole = await call(h, 'Mailbox/query', { accountId, filter: { hasAnyRole: false } });
    assert.deepEqual(noRole.ids, []);
    const paged = await call(h, 'Mailbox/query', { accountId, sort: [{ property: 'name', isAscending: false }], position: 1, limit: 2 });
    assert.equal(paged.ids.length, 2);
    await assert.rejects(call(h, 'Mailbox/query', { accountId, sort: [{ property: 'totalEmails' }] }), { message: 'unsupportedSort' });

    const before = (await call(h, 'Mailbox/get', { accountId, ids: [] })).state;
    await h.domain.createMailbox(account.id, 'FromImap');
    const after = await call(h, 'Mailbox/changes', { accountId, sinceState: before });
    assert.equal(after.created.length, 1);
    assert.notEqual(after.newState, before);
  } finally {
    await h.close();
  }
});
