/**
 * JMAP against the real server with a real client (jmap-jam), and the proof
 * that a JMAP change is an IMAP change: a keyword set over JMAP reaches an
 * IMAP session in IDLE as FETCH FLAGS, and an IMAP STORE moves the JMAP state
 * and is pushed over EventSource.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ImapFlow } from 'imapflow';
import { JamClient } from 'jmap-jam';
import { addUser, deliver, makeMessage, startServer, type TestServer } from '../helpers/server.js';

const USER = 'jmap@example.com';
const PASS = 'jmap password';

describe('JMAP with jmap-jam and IMAP side by side', () => {
  let server: TestServer;
  let base: string;
  let jam: JamClient;
  let accountId: string;

  before(async () => {
    // Plain HTTP on loopback with cleartext logins allowed there, as behind a local TLS proxy:
    // the client (fetch) then needs no trust in the generated certificate.
    server = await startServer({
      config: {
        listeners: { imap: '127.0.0.1:0', imaps: '127.0.0.1:0', pop3: '127.0.0.1:0', pop3s: '127.0.0.1:0', lmtp: '127.0.0.1:0', http: '127.0.0.1:0' },
        tls: { allowCleartextAuthFromLoopback: true },
      },
    });
    addUser(server.dataDir, USER, PASS);
    for (const subject of ['first', 'second']) assert.equal(deliver(server.dataDir, USER, makeMessage({ subject, to: USER })).status, 0);
    base = `http://127.0.0.1:${server.ports.http}`;
    const token = await fetch(`${base}/jmap/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${USER}:${PASS}`).toString('base64')}` },
    }).then((r) => r.json() as Promise<{ access_token: string }>);
    jam = new JamClient({ sessionUrl: `${base}/.well-known/jmap`, bearerToken: token.access_token });
    accountId = (await jam.getPrimaryAccount())!;
  });
  after(async () => {
    await server.stop();
    server.cleanup();
  });

  test('jam reads mailboxes and mail', async () => {
    const [mailboxes] = await jam.api.Mailbox.get({ accountId, ids: null });
    const inbox = mailboxes.list.find((m) => m.role === 'inbox')!;
    assert.equal(inbox.totalEmails, 2);
    const [query] = await jam.api.Email.query({ accountId, filter: { inMailbox: inbox.id }, sort: [{ property: 'receivedAt', isAscending: false }] });
    const [emails] = await jam.api.Email.get({ accountId, ids: query.ids, properties: ['subject', 'from', 'keywords'] });
    assert.deepEqual(emails.list.map((e) => e.subject).sort(), ['first', 'second']);
    const [echo] = await jam.api.Core.echo({ hello: 'jam' });
    assert.deepEqual(echo, { hello: 'jam' });
  });

  test('a keyword set over JMAP reaches IMAP IDLE; an IMAP STORE moves the JMAP state and is pushed', async () => {
    const imap = new ImapFlow({
      host: '127.0.0.1',
      port: server.ports.imaps,
      secure: true,
      tls: { ca: [server.certPem], servername: 'localhost' },
      auth: { user: USER, pass: PASS },
      logger: false,
    });
    await imap.connect();
    try {
      await imap.mailboxOpen('INBOX');
      const [mailboxes] = await jam.api.Mailbox.get({ accountId, ids: null });
      const inbox = mailboxes.list.find((m) => m.role === 'inbox')!;
      const [query] = await jam.api.Email.query({ accountId, filter: { inMailbox: inbox.id }, sort: [{ property: 'receivedAt', isAscending: true }] });
      const emailId = query.ids[0]!;

      const flagsSeen = new Promise<{ uid?: number; flags: Set<string> }>((resolve) => {
        imap.on('flags', (event: { uid?: number; flags: Set<string> }) => {
          if (event.flags.has('\\Seen')) resolve(event);
        });
      });
      const idling = imap.idle();
      const [set] = await jam.api.Email.set({ accountId, update: { [emailId]: { 'keywords/$seen': true } } });
      assert.deepEqual(set.updated, { [emailId]: null });
      const event = await flagsSeen;
      assert.ok(event.flags.has('\\Seen'), 'IMAP IDLE saw the JMAP keyword as FETCH FLAGS');

      // Push: a stream opened now gets a StateChange when IMAP stores a flag.
      const stream = await fetch(`${base}/jmap/eventsource?types=*&closeafter=state&ping=0`, {
        headers: { authorization: `Basic ${Buffer.from(`${USER}:${PASS}`).toString('base64')}` },
      });
      assert.equal(stream.headers.get('content-type'), 'text/event-stream; charset=utf-8');
      const reader = stream.body!.pipeThrough(new TextDecoderStream()).getReader();
      let text = '';
      // The server says when it listens (an event-stream comment); changes after that are pushed.
      while (!text.includes(': listening')) text += (await reader.read()).value ?? '';
      const [before] = await jam.api.Email.get({ accountId, ids: [], properties: ['id'] });
      await imap.messageFlagsAdd({ uid: '1:*' }, ['\\Flagged'], { uid: true });
      // closeafter=state: the stream ends after its first event.
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) text += chunk.value;
      const data = JSON.parse(/^data: (.*)$/m.exec(text)![1]!);
      assert.equal(data['@type'], 'StateChange');
      assert.notEqual(data.changed[accountId].Email, before.state);
      const [changes] = await jam.api.Email.changes({ accountId, sinceState: before.state });
      assert.deepEqual(changes.updated.sort(), query.ids.slice().sort());
      const [after] = await jam.api.Email.get({ accountId, ids: [emailId], properties: ['keywords'] });
      assert.deepEqual(after.list[0]!.keywords, { $seen: true, $flagged: true });
      await idling.catch(() => {});
    } finally {
      await imap.logout();
    }
  });
});
