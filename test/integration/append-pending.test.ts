/**
 * An APPEND literal too large to be buffered (it streams into the store) but
 * small enough to ride in the group commit (a pending body, issue 11) is
 * stored and reads back exactly. Regression: the summarizer moved the
 * pending bytes to its worker (a transfer detaches them) before the commit
 * posted them to the store thread, and the APPEND failed.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ImapFlow } from 'imapflow';
import { limits } from '../../src/protocol/limits.js';
import { addUser, startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
before(async () => {
  server = await startServer();
  addUser(server.dataDir, 'pending@example.com', 'pending-pw');
});
after(async () => {
  await server.stop();
  server.cleanup();
});

test('a streamed APPEND literal under the pending limit is stored and reads back exactly', async () => {
  const size = limits.imapMaxSmallLiteralBytes + 4096;
  const header = 'From: a@example.org\r\nSubject: pending\r\nContent-Type: text/plain\r\n\r\n';
  const body = Buffer.from(header + 'x'.repeat(76).concat('\r\n').repeat(Math.ceil((size - header.length) / 78)));
  assert.ok(body.length > limits.imapMaxSmallLiteralBytes && body.length < 128 * 1024);
  const c = new ImapFlow({ host: '127.0.0.1', port: server.ports.imaps, secure: true, auth: { user: 'pending@example.com', pass: 'pending-pw' }, tls: { ca: [server.certPem], servername: 'localhost' }, logger: false });
  await c.connect();
  try {
    const appended = await c.append('INBOX', body);
    assert.ok(appended && appended.uid, 'APPENDUID');
    const lock = await c.getMailboxLock('INBOX');
    try {
      const m = await c.fetchOne(String(appended.uid), { source: true }, { uid: true });
      assert.ok(m && m.source && m.source.equals(body), 'the same octets');
    } finally {
      lock.release();
    }
  } finally {
    await c.logout();
  }
});
