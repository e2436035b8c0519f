/**
 * A real client (imapflow) over a loopback TCP socket, to catch what
 * hand-written transcripts miss: ENABLE/ESEARCH handling, literal framing,
 * IDLE with pushed EXISTS.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ImapFlow } from 'imapflow';
import { SocketConnection } from '../net/socket-connection.js';
import { silentLogger } from '../observability/log.js';
import { ALICE, createHarness, message, PASSWORD, type Harness } from './harness.test.js';
import { createImapSession } from './session.js';

describe('IMAP session driven by imapflow', () => {
  let h: Harness;
  let server: Server;
  let port = 0;
  before(async () => {
    h = await createHarness();
    await h.domain.deliver(ALICE, message({ subject: 'From the wire' }));
    server = createServer((socket) => {
      const connection = new SocketConnection(socket, null, silentLogger());
      connection.attach(
        createImapSession(connection, {
          domain: h.domain,
          log: silentLogger(),
          hostname: 'localhost',
          tlsAvailable: false,
          allowCleartextAuthFromLoopback: true,
          authFailureDelayMs: 10,
          idleKeepaliveMs: 120000,
          unauthenticatedTimeoutMs: 60000,
          authenticatedTimeoutMs: 1800000,
          maxMessageBytes: 1024 * 1024,
        }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  after(async () => {
    await new Promise((r) => server.close(r));
    await h.close();
  });

  const client = () =>
    new ImapFlow({ host: '127.0.0.1', port, secure: false, doSTARTTLS: false, auth: { user: ALICE, pass: PASSWORD }, logger: false });

  it('logs in, lists, fetches, flags, searches, appends, moves, logs out', async () => {
    const c = client();
    await c.connect();
    const list = await c.list();
    assert.deepEqual(list.map((m) => m.path).sort(), ['Archive', 'Drafts', 'INBOX', 'Junk', 'Sent', 'Trash']);
    assert.equal(list.find((m) => m.path === 'Sent')?.specialUse, '\\Sent');
    const box = await c.mailboxOpen('INBOX');
    assert.equal(box.exists, 1);
    const msg = await c.fetchOne('1', { envelope: true, source: true, flags: true, uid: true, bodyStructure: true });
    assert.ok(msg);
    assert.equal(msg.envelope?.subject, 'From the wire');
    assert.equal(msg.source?.toString(), message({ subject: 'From the wire' }).toString());
    await c.messageFlagsAdd('1', ['\\Flagged']);
    assert.deepEqual(await c.search({ flagged: true }), [1]);
    assert.deepEqual(await c.search({ subject: 'wire' }), [1]);
    const appended = await c.append('Drafts', message({ subject: 'Draft' }), ['\\Draft']);
    assert.ok(appended && appended.uid === 1);
    const status = await c.status('Drafts', { messages: true, unseen: true });
    assert.equal(status.messages, 1);
    const moved = await c.messageMove('1', 'Archive');
    assert.ok(moved && moved.uidMap?.get(1) === 1);
    assert.equal(c.mailbox && c.mailbox.exists, 0);
    await c.logout();
  });

  it('IDLE receives a new message pushed from another session', async () => {
    const c = client();
    await c.connect();
    await c.mailboxOpen('INBOX');
    const exists = new Promise<number>((resolve) => c.on('exists', (e: { count: number }) => resolve(e.count)));
    void c.idle();
    await new Promise((r) => setTimeout(r, 50));
    await h.domain.deliver(ALICE, message({ subject: 'Pushed' }));
    assert.equal(await exists, 1);
    await c.logout();
  });
});
