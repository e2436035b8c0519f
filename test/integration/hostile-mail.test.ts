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
/** Each NOOP during the 50 MB delivery: about 10 s before summaries moved to a worker thread. */
const HOSTILE_NOOP_BOUND_MS = 5_000;

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

/**
 * About 50 MB (just under the default maxMessageBytes): 10,000 parts, each with
 * a 5 KB Content-Type of many parameters. summarize() took 7-11 s on the event
 * loop and made ~100 MB of summary before the per-message header budget; it now
 * runs on a worker thread (src/domain/summarizer.ts).
 */
function longContentTypesMessage(): Buffer {
  let ct = 'text/plain';
  for (let i = 0; ct.length < 5000; i++) ct += `; p${i}="${'v'.repeat(40)}"`;
  const chunks = ['From: sender@example.org\r\nTo: alice@example.com\r\nSubject: long types\r\nMIME-Version: 1.0\r\n'];
  chunks.push('Content-Type: multipart/mixed; boundary="b"\r\n\r\n');
  for (let i = 0; i < 10_000; i++) chunks.push(`--b\r\nContent-Type: ${ct}\r\n\r\npart ${i}\r\n`);
  chunks.push('--b--\r\n');
  return Buffer.from(chunks.join(''));
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

  /** Delivers `raw` over LMTP to alice and bob while bob's IMAP session keeps sending NOOP; returns bob's FETCH of it. */
  async function deliverWhileNooping(raw: Buffer | string, deliveryBoundMs: number) {
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
      const lock = await canary.getMailboxLock('INBOX');
      try {
        const before = (canary.mailbox as { exists: number }).exists;
        const lmtp = nodemailer.createTransport({ lmtp: true, host: '127.0.0.1', port: server.ports.lmtp, secure: false, ignoreTLS: true });
        const started = Date.now();
        let delivered = false;
        const delivery = lmtp
          .sendMail({ envelope: { from: 'sender@example.org', to: ['alice@example.com', 'bob@example.com'] }, raw })
          .finally(() => {
            delivered = true;
          });
        let noops = 0;
        let slowest = 0;
        do {
          const sent = Date.now();
          await canary.noop();
          slowest = Math.max(slowest, Date.now() - sent);
          noops++;
        } while (!delivered && Date.now() - started < deliveryBoundMs * 2);
        const info = await delivery;
        const took = Date.now() - started;
        assert.deepEqual([...info.accepted].sort(), ['alice@example.com', 'bob@example.com']);
        assert.ok(took < deliveryBoundMs, `delivery took ${took} ms`);
        assert.ok(noops >= 1 && slowest < NOOP_BOUND_MS, `the slowest of ${noops} NOOPs took ${slowest} ms`);
        await canary.noop(); // the EXISTS of the new message
        const msg = await canary.fetchOne(String(before + 1), { envelope: true, bodyStructure: true, size: true });
        assert.ok(msg);
        return { msg, slowest, noops, took };
      } finally {
        lock.release();
      }
    } finally {
      await canary.logout();
    }
  }

  test('1 MB of unclosed <style is delivered promptly while another session keeps answering NOOP', async () => {
    const { msg } = await deliverWhileNooping(unclosedStyleMessage(), DELIVERY_BOUND_MS);
    // The summary (preview included) was stored.
    assert.equal(msg.envelope?.subject, 'unclosed style');
    assert.equal(msg.bodyStructure?.type, 'text/html');
    assert.ok((msg.size ?? 0) > 1024 * 1024);
  });

  test('50 MB of 10,000 parts with 5 KB Content-Types, to two recipients: every NOOP meanwhile is answered promptly', async (t) => {
    const raw = longContentTypesMessage();
    const { msg, slowest, noops, took } = await deliverWhileNooping(raw, 120_000);
    assert.ok(slowest < HOSTILE_NOOP_BOUND_MS, `the slowest of ${noops} NOOPs took ${slowest} ms`);
    t.diagnostic(`50 MB hostile delivery: ${took} ms, ${noops} NOOPs, slowest ${slowest} ms`);
    // A valid BODYSTRUCTURE, every part described (the budget left the types exact).
    assert.equal(msg.envelope?.subject, 'long types');
    assert.equal(msg.bodyStructure?.type, 'multipart/mixed');
    assert.equal(msg.bodyStructure?.childNodes?.length, 9_999);
    assert.equal(msg.bodyStructure?.childNodes?.[9_998]?.type, 'text/plain');
    assert.ok((msg.size ?? 0) > 50_000_000);
  });

  test('SIGTERM stops the server with its summarizer worker started: it exits, and cleanly', async () => {
    assert.equal(await server.stop(), 0);
  });
});
