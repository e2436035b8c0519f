/**
 * Durability and lifecycle: every acknowledged delivery survives SIGKILL with
 * the same UIDVALIDITY and UIDs; SIGTERM says BYE to IMAP sessions and exits 0.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:tls';
import { describe, test } from 'node:test';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import { addUser, makeMessage, startServer, type TestServer } from '../helpers/server.js';

async function inboxState(server: TestServer) {
  const c = new ImapFlow({
    host: '127.0.0.1',
    port: server.ports.imaps,
    secure: true,
    tls: { ca: [server.certPem], servername: 'localhost' },
    auth: { user: 'dura@example.com', pass: 'pw' },
    logger: false,
  });
  await c.connect();
  try {
    const mb = await c.mailboxOpen('INBOX');
    const uids: number[] = [];
    const subjects: string[] = [];
    if (mb.exists > 0) {
      for await (const m of c.fetch('1:*', { uid: true, envelope: true })) {
        uids.push(m.uid);
        subjects.push(m.envelope!.subject!);
      }
    }
    return { uidValidity: String(mb.uidValidity), uids, subjects };
  } finally {
    await c.logout();
  }
}

describe('restart', () => {
  test('acknowledged LMTP deliveries survive SIGKILL with the same UIDVALIDITY and UIDs', async () => {
    const first = await startServer();
    addUser(first.dataDir, 'dura@example.com', 'pw');
    const transport = nodemailer.createTransport({ lmtp: true, host: '127.0.0.1', port: first.ports.lmtp, ignoreTLS: true });
    for (let i = 1; i <= 5; i++) {
      const info = await transport.sendMail({
        envelope: { from: 'a@example.org', to: ['dura@example.com'] },
        raw: makeMessage({ subject: `durable ${i}` }),
      });
      assert.deepEqual(info.accepted, ['dura@example.com']);
    }
    const before = await inboxState(first);
    await first.kill();

    const second = await startServer({ dataDir: first.dataDir });
    try {
      const afterRestart = await inboxState(second);
      assert.deepEqual(afterRestart, before);
      assert.deepEqual(afterRestart.subjects, [1, 2, 3, 4, 5].map((i) => `durable ${i}`));
      // UIDs keep ascending after the restart: the next delivery gets UID 6.
      const t2 = nodemailer.createTransport({ lmtp: true, host: '127.0.0.1', port: second.ports.lmtp, ignoreTLS: true });
      await t2.sendMail({ envelope: { from: 'a@example.org', to: ['dura@example.com'] }, raw: makeMessage({ subject: 'after' }) });
      assert.deepEqual((await inboxState(second)).uids, [1, 2, 3, 4, 5, 6]);
    } finally {
      assert.equal(await second.stop(), 0);
      second.cleanup();
    }
  });

  test('SIGTERM sends * BYE to IMAP sessions and exits 0', async () => {
    const server = await startServer();
    const socket = connect({ host: '127.0.0.1', port: server.ports.imaps, ca: [server.certPem], servername: 'localhost' });
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (t: string) => (text += t));
    socket.on('error', () => {});
    while (!text.includes('\r\n')) await new Promise((r) => setTimeout(r, 10));
    const code = await server.stop();
    assert.equal(code, 0);
    assert.match(text, /\* BYE /);
    socket.destroy();
    server.cleanup();
  });
});
