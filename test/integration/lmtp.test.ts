/**
 * LMTP delivery (RFC 2033) with nodemailer as the MTA: one reply per
 * recipient, unknown users and quota refused, delivered mail readable over
 * IMAP, and an IDLE session woken by the delivery.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import { addUser, makeMessage, startServer, type TestServer } from '../helpers/server.js';

describe('LMTP delivery', () => {
  let server: TestServer;

  before(async () => {
    server = await startServer();
    addUser(server.dataDir, 'alice@example.com', 'alice-pw');
    addUser(server.dataDir, 'small@example.com', 'small-pw', '2k');
  });
  after(async () => {
    await server.stop();
    server.cleanup();
  });

  function lmtp() {
    return nodemailer.createTransport({ lmtp: true, host: '127.0.0.1', port: server.ports.lmtp, secure: false, ignoreTLS: true });
  }

  function imapClient(user: string, pass: string) {
    return new ImapFlow({
      host: '127.0.0.1',
      port: server.ports.imaps,
      secure: true,
      tls: { ca: [server.certPem], servername: 'localhost' },
      auth: { user, pass },
      logger: false,
    });
  }

  test('per-recipient replies: delivered, unknown user, over quota', async () => {
    const info = await lmtp().sendMail({
      envelope: { from: 'sender@example.org', to: ['alice@example.com', 'ghost@example.com', 'small@example.com'] },
      raw: makeMessage({ subject: 'to three', body: 'y'.repeat(3000) }),
    });
    assert.deepEqual(info.accepted, ['alice@example.com']);
    assert.deepEqual([...info.rejected].sort(), ['ghost@example.com', 'small@example.com']);
    const errors = (info as unknown as { rejectedErrors: Array<{ recipient: string; response: string }> }).rejectedErrors;
    const byRcpt = Object.fromEntries(errors.map((e) => [e.recipient, e.response]));
    assert.match(byRcpt['ghost@example.com'], /^550 5\.1\.1/);
    assert.match(byRcpt['small@example.com'], /^552 5\.2\.2/);

    const client = imapClient('alice@example.com', 'alice-pw');
    await client.connect();
    try {
      await client.mailboxOpen('INBOX');
      const msg = await client.fetchOne('*', { source: true });
      assert.ok(msg);
      const text = msg.source!.toString();
      assert.match(text, /^Return-Path: <sender@example\.org>\r\n/);
      assert.match(text, /Subject: to three/);
    } finally {
      await client.logout();
    }
  });

  test('a delivery wakes an IDLE session at once', async () => {
    const client = imapClient('alice@example.com', 'alice-pw');
    await client.connect();
    try {
      const lock = await client.getMailboxLock('INBOX');
      try {
        const before = client.mailbox && typeof client.mailbox === 'object' ? client.mailbox.exists : 0;
        const sawExists = new Promise<number>((resolve) => client.on('exists', (d: { count: number }) => resolve(d.count)));
        void client.idle();
        await new Promise((r) => setTimeout(r, 100));
        const started = Date.now();
        await lmtp().sendMail({
          envelope: { from: 'sender@example.org', to: ['alice@example.com'] },
          raw: makeMessage({ subject: 'push me' }),
        });
        const count = await sawExists;
        assert.equal(count, before + 1);
        // Generous for a loaded machine, and still far below the 120 s IDLE keepalive that would otherwise bring it.
        assert.ok(Date.now() - started < 30_000, 'EXISTS pushed promptly');
      } finally {
        lock.release();
      }
    } finally {
      await client.logout();
    }
  });
});
