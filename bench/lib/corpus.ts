/**
 * The mailbox content both servers get: the speed test's seeded demo mailbox
 * (mostly small plain and alternative mail, a tail of attachments up to
 * ~1 MB), and fixed-size 10 KB messages for the delivery benchmark.
 * Generated once per run and delivered byte-identically to both servers.
 */
import { demoMessage, prng } from '../../src/tools/speedtest/demo-mailbox.js';

export function mailboxCorpus(count: number, to: string, seed = 20261126): Buffer[] {
  const rand = prng(seed);
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) out.push(demoMessage(i, rand, to).content);
  return out;
}

/** A plain-text message of exactly `bytes` octets (CRLF line ends), unique by `n`. */
export function fixedSizeMessage(n: number, bytes: number, to: string): Buffer {
  const head = [
    'From: Bench Sender <bench@example.org>',
    `To: ${to}`,
    `Subject: delivery benchmark message ${n}`,
    'Date: Thu, 26 Nov 2026 10:00:00 +0000',
    `Message-ID: <bench-${n}-${process.pid}@bench.invalid>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=us-ascii',
    '',
    '',
  ].join('\r\n');
  const line = 'The quick brown fox jumps over the lazy dog, again and again and again.\r\n';
  let body = '';
  while (head.length + body.length + line.length <= bytes) body += line;
  body += 'x'.repeat(Math.max(0, bytes - head.length - body.length - 2)) + '\r\n';
  return Buffer.from(head + body, 'latin1');
}

/** A message of the storage suite's large mailbox: about 600 octets (CRLF line ends), unique by `i`. */
export function largeMailboxMessage(i: number, to: string): Buffer {
  return Buffer.from(
    [
      'From: Bench Sender <bench@example.org>',
      `To: ${to}`,
      `Subject: large mailbox message ${i}`,
      'Date: Thu, 26 Nov 2026 10:00:00 +0000',
      `Message-ID: <big-${i}@bench.invalid>`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=us-ascii',
      '',
      `Message ${i} of the large mailbox. The quick brown fox jumps over the lazy dog.`,
      'The quick brown fox jumps over the lazy dog, again and again and again.',
      '',
    ].join('\r\n'),
    'latin1',
  );
}
