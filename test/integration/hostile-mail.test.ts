/**
 * Mail that used to freeze the server (issue 9): an HTML part of 1 MB of
 * unclosed `<style` tags made ingest spend about a minute per LMTP recipient
 * in the preview's regular expressions, and every other session waited as
 * long. Delivered over LMTP (nodemailer as the MTA) to two recipients while an
 * IMAP session opened before keeps sending NOOP: the delivery completes, each
 * NOOP is answered, and the message reads back with its preview.
 *
 * The wall-clock bounds are the point of this test and are generous for a
 * loaded machine: before the fix the delivery took minutes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import { addUser, startServer, type TestServer } from '../helpers/server.js';

const DELIVERY_BOUND_MS = 30_000;
const NOOP_BOUND_MS = 10_000;

function unclosedStyleMessage(): Buffer {
  const head = [
    'From: sender@example.org',
    'To: alice@example.com',
    'Subject: unclosed style',
    'MIME-Version: 1.0',
    'Content-Type: text/html; charset=utf-8',
    '',
    '<p>Hello Alice</p>',
  ].join('\r\n');
  const unit = Buffer.from('<style');
  const n = Math.floor((1024 * 1024) / unit.length);
  const body = Buffer.alloc(n * unit.length);
  body.fill(unit);
  return Buffer.concat([Buffer.from(head), body, Buffer.from('\r\n')]);
}

describe('hostile mail over LMTP', () => {
  let server: TestServer;

  before(async () => {
    server = await startServer();
    addUser(server.dataDir, 'alice@example.com', 'alice-pw');
    addUser(server.dataDir, 'bob@example.com', 'bob-pw');
  });
  after(async () => {
    await server.stop();
    server.cleanup();
  });

  test('1 MB of unclosed <style is delivered promptly while another session keeps answering NOOP', async () => {
    const canary = new ImapFlow({
      host: '127.0.0.1',
      port: server.ports.imaps,
      secure: true,
      tls: { ca: [server.certPem], servername: 'localhost' },
      auth: { user: 'bob@example.com', pass: 'bob-pw' },
      logger: false,
    });
    await canary.connect();
    try {
      await canary.mailboxOpen('INBOX');
      const lmtp = nodemailer.createTransport({ lmtp: true, host: '127.0.0.1', port: server.ports.lmtp, secure: false, ignoreTLS: true });
      const started = Date.now();
      let delivered = false;
      const delivery = lmtp
        .sendMail({ envelope: { from: 'sender@example.org', to: ['alice@example.com', 'bob@example.com'] }, raw: unclosedStyleMessage() })
        .finally(() => {
          delivered = true;
        });

      // NOOPs back to back for as long as the delivery runs (at least one).
      let noops = 0;
      let slowest = 0;
      do {
        const sent = Date.now();
        await canary.noop();
        slowest = Math.max(slowest, Date.now() - sent);
        noops++;
      } while (!delivered && Date.now() - started < DELIVERY_BOUND_MS * 2);

      const info = await delivery;
      const took = Date.now() - started;
      assert.deepEqual([...info.accepted].sort(), ['alice@example.com', 'bob@example.com']);
      assert.ok(took < DELIVERY_BOUND_MS, `delivery took ${took} ms`);
      assert.ok(noops >= 1 && slowest < NOOP_BOUND_MS, `the slowest of ${noops} NOOPs took ${slowest} ms`);

      // The canary sees the new message, and its summary (preview included) was stored.
      const msg = await canary.fetchOne('*', { envelope: true, bodyStructure: true, size: true });
      assert.ok(msg);
      assert.equal(msg.envelope?.subject, 'unclosed style');
      assert.equal(msg.bodyStructure?.type, 'text/html');
      assert.ok((msg.size ?? 0) > 1024 * 1024);
    } finally {
      await canary.logout();
    }
  });
});
