/**
 * A generated mailbox with a realistic mix (seeded, so every demo gets the
 * same mailbox): short plain-text mail, text+HTML alternatives, and
 * attachments from a few KB to about 1 MB, the way a real inbox is mostly
 * small messages with a long tail of large ones.
 */
import { randomBytes } from 'node:crypto';

const WORDS = (
  'the meeting invoice project report draft schedule update please review attached thanks tomorrow ' +
  'quarterly budget design release notes team coffee plan question answer shipping order account travel ' +
  'photos weekend family lunch contract signature deadline server backup migration holiday newsletter'
).split(' ');
const PEOPLE = ['Ada Lovelace <ada@example.org>', 'Grace Hopper <grace@example.net>', 'Alan Turing <alan@example.com>', 'Linus <linus@example.org>', 'Margaret Hamilton <mh@example.net>', 'Shop <orders@shop.example>', 'Newsletter <news@list.example>'];

/** Small deterministic PRNG (mulberry32): the same seed gives the same mailbox. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Shape = 'plain' | 'alternative' | 'attachment';

export interface DemoMessage {
  shape: Shape;
  content: Buffer;
}

function text(rand: () => number, bytes: number): string {
  const lines: string[] = [];
  let line = '';
  let total = 0;
  while (total < bytes) {
    const w = WORDS[Math.floor(rand() * WORDS.length)];
    if (line.length + w.length > 72) {
      lines.push(line);
      total += line.length + 2;
      line = '';
    }
    line += (line ? ' ' : '') + w;
  }
  lines.push(line);
  return lines.join('\r\n');
}

function base64Lines(data: Buffer): string {
  return data.toString('base64').replace(/.{76}/g, '$&\r\n');
}

function attachmentBytes(rand: () => number): number {
  const r = rand();
  if (r < 0.8) return 5_000 + Math.floor(rand() * 95_000);
  if (r < 0.97) return 100_000 + Math.floor(rand() * 300_000);
  return 700_000 + Math.floor(rand() * 300_000);
}

export function demoMessage(index: number, rand: () => number, to: string): DemoMessage {
  const r = rand();
  const shape: Shape = r < 0.6 ? 'plain' : r < 0.85 ? 'alternative' : 'attachment';
  const from = PEOPLE[Math.floor(rand() * PEOPLE.length)];
  const subject = `${WORDS[Math.floor(rand() * WORDS.length)]} ${WORDS[Math.floor(rand() * WORDS.length)]} #${index + 1}`;
  const date = new Date(Date.UTC(2026, 0, 1) + index * 3_600_000).toUTCString().replace('GMT', '+0000');
  const head = [`From: ${from}`, `To: ${to}`, `Subject: ${subject}`, `Date: ${date}`, `Message-ID: <demo-${index + 1}@mailstead.invalid>`, 'MIME-Version: 1.0'];
  const body = text(rand, 300 + Math.floor(rand() * 4_000));
  let parts: string[];
  if (shape === 'plain') {
    parts = ['Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 7bit', '', body];
  } else if (shape === 'alternative') {
    const b = `alt-${index}`;
    const html = `<html><body><p>${body.replace(/\r\n/g, '</p>\r\n<p>')}</p></body></html>`;
    parts = [`Content-Type: multipart/alternative; boundary="${b}"`, '', `--${b}`, 'Content-Type: text/plain; charset=utf-8', '', body, `--${b}`, 'Content-Type: text/html; charset=utf-8', '', html, `--${b}--`];
  } else {
    const b = `mix-${index}`;
    const name = rand() < 0.5 ? `photo-${index + 1}.jpg` : `report-${index + 1}.pdf`;
    const type = name.endsWith('.jpg') ? 'image/jpeg' : 'application/pdf';
    parts = [
      `Content-Type: multipart/mixed; boundary="${b}"`,
      '',
      `--${b}`,
      'Content-Type: text/plain; charset=utf-8',
      '',
      body,
      `--${b}`,
      `Content-Type: ${type}; name="${name}"`,
      `Content-Disposition: attachment; filename="${name}"`,
      'Content-Transfer-Encoding: base64',
      '',
      base64Lines(randomBytes(attachmentBytes(rand))),
      `--${b}--`,
    ];
  }
  return { shape, content: Buffer.from([...head, ...parts, ''].join('\r\n')) };
}
