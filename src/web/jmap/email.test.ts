/** Email/get, /query, /set, /changes, Thread/get and blob download (RFC 8621 §4) over IMAP's store. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { webHarness, ALICE, jmapAccountIdOf as accountIdOf, jmapCall as call, type WebHarness } from '../../../test/helpers/web-app.js';

const PLAIN = [
  'From: =?utf-8?q?J=C3=BCrgen?= <juergen@example.org>',
  'To: Alice <alice@example.com>, bob@example.com',
  'Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?= from the plain side',
  'Date: Thu, 26 Nov 2026 10:00:00 +0100',
  'Message-ID: <plain-1@example.org>',
  'In-Reply-To: <older@example.org>',
  '',
  'Hello plain body',
  '',
].join('\r\n');

const ALTERNATIVE = [
  'From: sender@example.org',
  'To: alice@example.com',
  'Subject: with attachment',
  'Date: Fri, 27 Nov 2026 10:00:00 +0000',
  'Message-ID: <alt-1@example.org>',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="outer"',
  '',
  '--outer',
  'Content-Type: multipart/alternative; boundary="inner"',
  '',
  '--inner',
  'Content-Type: text/plain; charset=utf-8',
  '',
  'plain version',
  '--inner',
  'Content-Type: text/html; charset=utf-8',
  '',
  '<p>html version</p>',
  '--inner--',
  '',
  '--outer',
  'Content-Type: application/octet-stream; name="data.bin"',
  'Content-Disposition: attachment; filename="data.bin"',
  'Content-Transfer-Encoding: base64',
  '',
  Buffer.from('attachment bytes').toString('base64'),
  '--outer--',
  '',
].join('\r\n');

async function setup(h: WebHarness) {
  const accountId = await accountIdOf(h);
  const account = (await h.domain.findAccount(ALICE))!;
  const inbox = (await h.domain.getMailbox(account.id, 'INBOX'))!;
  await h.domain.ingest(inbox, { content: Buffer.from(PLAIN), internalDate: new Date('2026-11-26T09:00:00Z') });
  await h.domain.ingest(inbox, { content: Buffer.from(ALTERNATIVE), internalDate: new Date('2026-11-27T10:00:00Z') });
  await h.domain.ingest(inbox, { content: Buffer.from('Subject: third\r\n\r\nthird\r\n'), internalDate: new Date('2026-11-28T10:00:00Z') });
  return { accountId, account, inbox };
}

test('Email/query pages a mailbox by receivedAt; Email/get renders headers, bodies and attachments', async () => {
  const h = await webHarness({ tls: true });
  try {
    const { accountId, inbox } = await setup(h);
    const all = await call(h, 'Email/query', { accountId, filter: { inMailbox: inbox.objectId }, sort: [{ property: 'receivedAt', isAscending: false }], calculateTotal: true });
    assert.equal(all.total, 3);
    assert.equal(all.ids.length, 3);
    const page = await call(h, 'Email/query', { accountId, filter: { inMailbox: inbox.objectId }, sort: [{ property: 'receivedAt' }], position: 1, limit: 1 });
    assert.deepEqual(page.ids, [all.ids[1]]);
    const last = await call(h, 'Email/query', { accountId, filter: { inMailbox: inbox.objectId }, sort: [{ property: 'receivedAt', isAscending: false }], position: -1 });
    assert.deepEqual(last.ids, [all.ids[2]]);
    const [third, alternative, plain] = all.ids;

    const got = await call(h, 'Email/get', { accountId, ids: [plain, alternative, 'Mnothere'], fetchTextBodyValues: true });
    assert.deepEqual(got.notFound, ['Mnothere']);
    const [p, a] = got.list;
    assert.equal(p.subject, 'Grüße from the plain side');
    assert.deepEqual(p.from, [{ name: 'Jürgen', email: 'juergen@example.org' }]);
    assert.deepEqual(p.to, [{ name: 'Alice', email: 'alice@example.com' }, { name: null, email: 'bob@example.com' }]);
    assert.deepEqual(p.messageId, ['plain-1@example.org']);
    assert.deepEqual(p.inReplyTo, ['older@example.org']);
    assert.equal(p.sentAt, '2026-11-26T09:00:00Z');
    assert.equal(p.receivedAt, '2026-11-26T09:00:00Z');
    assert.deepEqual(p.mailboxIds, { [inbox.objectId]: true });
    assert.deepEqual(p.keywords, {});
    assert.equal(p.threadId, `T${plain}`);
    assert.match(p.preview, /Hello plain body/);
    assert.equal(p.bodyValues[p.textBody[0].partId].value, 'Hello plain body\r\n');
    assert.equal(p.hasAttachment, false);

    assert.deepEqual(a.textBody.map((x: any) => x.type), ['text/plain']);
    assert.deepEqual(a.htmlBody.map((x: any) => x.type), ['text/html']);
    assert.deepEqual(a.attachments.map((x: any) => [x.name, x.type, x.size]), [['data.bin', 'application/octet-stream', 16]]);
    assert.equal(a.hasAttachment, true);
    assert.equal(a.bodyValues[a.textBody[0].partId].value, 'plain version');

    // Blobs: the whole message as stored, a part after transfer decoding.
    const whole = await h.app.inject({ url: `/jmap/download/${accountId}/${a.blobId}/m.eml?type=message/rfc822`, headers: { authorization: h.basic } });
    assert.equal(whole.statusCode, 200);
    assert.equal(whole.body, ALTERNATIVE);
    assert.match(String(whole.headers['content-disposition']), /^attachment; filename\*=UTF-8''m\.eml$/);
    const part = await h.app.inject({ url: `/jmap/download/${accountId}/${a.attachments[0].blobId}/data.bin?type=text/html`, headers: { authorization: h.basic } });
    assert.equal(part.body, 'attachment bytes');
    assert.equal(part.headers['content-type'], 'text/html', 'the type asked for, served as an attachment');
    const other = await h.app.inject({ url: `/jmap/download/${accountId}/BMnothere/x`, headers: { authorization: h.basic } });
    assert.equal(other.statusCode, 404);

    const meta = await call(h, 'Email/get', { accountId, ids: [third], properties: ['keywords', 'size'] });
    assert.deepEqual(Object.keys(meta.list[0]).sort(), ['id', 'keywords', 'size']);
    const threads = await call(h, 'Thread/get', { accountId, ids: [`T${third}`, 'Tnothere'] });
    assert.deepEqual(threads.list, [{ id: `T${third}`, emailIds: [third] }]);
  } finally {
    await h.close();
  }
});

test('Email/query filters by from, subject and text', async () => {
  const h = await webHarness({ tls: true });
  try {
    const { accountId } = await setup(h);
    const ids = async (filter: unknown) => (await call(h, 'Email/query', { accountId, filter })).ids.length;
    assert.equal(await ids({ from: 'juergen' }), 1);
    assert.equal(await ids({ subject: 'grüße' }), 1);
    assert.equal(await ids({ text: 'html version' }), 1);
    assert.equal(await ids({ operator: 'NOT', conditions: [{ subject: 'third' }] }), 2);
    await assert.rejects(call(h, 'Email/query', { accountId, filter: { header: ['X'] } }), { message: 'unsupportedFilter' });
    await assert.rejects(call(h, 'Email/query', { accountId, sort: [{ property: 'subject' }] }), { message: 'unsupportedSort' });
  } finally {
    await h.close();
  }
});

test('Email/set: keywords are IMAP flags, mailboxIds move and copy, destroy expunges; Email/changes follows IMAP', async () => {
  const h = await webHarness({ tls: true });
  try {
    const { accountId, account, inbox } = await setup(h);
    const [third] = (await call(h, 'Email/query', { accountId, filter: { inMailbox: inbox.objectId } })).ids;
    const archive = (await h.domain.getMailbox(account.id, 'Archive'))!;
    const start = (await call(h, 'Email/get', { accountId, ids: [] })).state;

    const seen = await call(h, 'Email/set', { accountId, update: { [third]: { 'keywords/$seen': true, 'keywords/$Work': true } } });
    assert.deepEqual(seen.updated, { [third]: null });
    const [row] = (await h.domain.messagesByEmailId(account.id, [third]));
    assert.deepEqual([...row!.message.flags].sort(), ['$work', '\\Seen'].sort());
    const changes = await call(h, 'Email/changes', { accountId, sinceState: start });
    assert.deepEqual([changes.created, changes.updated, changes.destroyed], [[], [third], []]);

    // An IMAP STORE moves the JMAP state too.
    await h.domain.updateFlags(inbox, [row!.message.uid], 'add', ['\\Flagged']);
    const afterImap = await call(h, 'Email/changes', { accountId, sinceState: seen.newState });
    assert.deepEqual(afterImap.updated, [third]);
    assert.deepEqual((await call(h, 'Email/get', { accountId, ids: [third], properties: ['keywords'] })).list[0].keywords, {
      $seen: true,
      $work: true,
      $flagged: true,
    });
    await h.domain.deliver(ALICE, Buffer.from('Subject: new\r\n\r\nnew\r\n'));
    const delivered = await call(h, 'Email/changes', { accountId, sinceState: afterImap.newState });
    assert.equal(delivered.created.length, 1);
    assert.deepEqual(delivered.updated, []);

    const moved = await call(h, 'Email/set', { accountId, update: { [third]: { mailboxIds: { [archive.objectId]: true } } } });
    assert.deepEqual(moved.updated, { [third]: null });
    const where = await h.domain.messagesByEmailId(account.id, [third]);
    assert.deepEqual(where.map((r) => r.mailboxId), [archive.id], 'moved, keeping its id');
    const both = await call(h, 'Email/set', { accountId, update: { [third]: { [`mailboxIds/${inbox.objectId}`]: true } } });
    assert.deepEqual(both.updated, { [third]: null });
    const got = await call(h, 'Email/get', { accountId, ids: [third], properties: ['mailboxIds'] });
    assert.deepEqual(got.list[0].mailboxIds, { [inbox.objectId]: true, [archive.objectId]: true });
    const none = await call(h, 'Email/set', { accountId, update: { [third]: { mailboxIds: {} } } });
    assert.equal(none.notUpdated[third].type, 'invalidProperties');
    const bad = await call(h, 'Email/set', { accountId, update: { [third]: { 'keywords/a(b': true } } });
    assert.equal(bad.notUpdated[third].type, 'invalidPatch');

    const gone = await call(h, 'Email/set', { accountId, destroy: [third, 'Mnothere'] });
    assert.deepEqual(gone.destroyed, [third]);
    assert.equal(gone.notDestroyed.Mnothere.type, 'notFound');
    assert.deepEqual(await h.domain.messagesByEmailId(account.id, [third]), []);
    await assert.rejects(call(h, 'Email/changes', { accountId, sinceState: both.newState }), { message: 'cannotCalculateChanges' });
    await assert.rejects(call(h, 'Email/set', { accountId, ifInState: start, destroy: [] }), { message: 'stateMismatch' });
    const created = await call(h, 'Email/set', { accountId, create: { x: { subject: 'new' } } });
    assert.equal(created.notCreated.x.type, 'forbidden');
  } finally {
    await h.close();
  }
});

test('blob upload streams into the store; Email/import appends it like IMAP APPEND', async () => {
  const h = await webHarness({ tls: true, settings: { maxMessageBytes: 4096 } });
  try {
    const { accountId, account, inbox } = await setup(h);
    const archive = (await h.domain.getMailbox(account.id, 'Archive'))!;
    const message = 'From: a@example.org\r\nSubject: imported\r\n\r\nimported body\r\n';
    const up = await h.app.inject({
      method: 'POST',
      url: `/jmap/upload/${accountId}/`,
      headers: { authorization: h.basic, 'content-type': 'message/rfc822' },
      payload: message,
    });
    assert.equal(up.statusCode, 201);
    const { blobId, size, type } = up.json();
    assert.deepEqual([size, type], [message.length, 'message/rfc822']);
    const big = await h.app.inject({
      method: 'POST',
      url: `/jmap/upload/${accountId}/`,
      headers: { authorization: h.basic, 'content-type': 'message/rfc822' },
      payload: 'x'.repeat(5000),
    });
    assert.equal(big.statusCode, 413);

    const imported = await call(h, 'Email/import', {
      accountId,
      emails: {
        a: { blobId, mailboxIds: { [inbox.objectId]: true, [archive.objectId]: true }, keywords: { $seen: true }, receivedAt: '2026-12-01T08:00:00Z' },
        b: { blobId: 'Unothere', mailboxIds: { [inbox.objectId]: true } },
      },
    });
    const id = imported.created.a.id;
    assert.equal(imported.notCreated.b.type, 'blobNotFound');
    const rows = await h.domain.messagesByEmailId(account.id, [id]);
    assert.deepEqual(rows.map((r) => r.mailboxId).sort(), [inbox.id, archive.id].sort(), 'one Email in both mailboxes');
    assert.deepEqual(rows[0]!.message.flags, ['\\Seen']);
    assert.equal(rows[0]!.message.internalDate.toISOString(), '2026-12-01T08:00:00.000Z');
    const got = await call(h, 'Email/get', { accountId, ids: [id], properties: ['subject', 'receivedAt'] });
    assert.deepEqual(got.list[0], { id, subject: 'imported', receivedAt: '2026-12-01T08:00:00Z' });
  } finally {
    await h.close();
  }
});
