/**
 * The mailbox content both servers get, generated from a seed so every run
 * (and both servers) get byte-identical mail, and fixed-size 10 KB messages
 * for the delivery benchmark.
 *
 * The mailbox mix is meant to look like a real inbox (issue 12: 10,000
 * messages, about 146 MB, 1 KB–1 MB each): about half short plain text,
 * a quarter text+HTML alternatives, some HTML-only newsletters, and one in
 * ten with attachments (mostly tens of KB, a tail of hundreds of KB, a few
 * near 1 MB). Headers vary the way ENVELOPE and BODYSTRUCTURE parsing sees
 * them: Cc, replies with In-Reply-To/References, RFC 2047 encoded subjects,
 * quoted-printable and base64 parts, nested multiparts.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { prng } from '../../src/tools/speedtest/demo-mailbox.js';

export const DEFAULT_SEED = 20261207;
/** Every message is at least this many octets, and at most MAX_OCTETS. */
export const MIN_OCTETS = 1024;
export const MAX_OCTETS = 1_000_000;

export type CorpusShape = 'plain' | 'alternative' | 'html' | 'attachment';

const WORDS = (
  'the meeting invoice project report draft schedule update please review attached thanks tomorrow ' +
  'quarterly budget design release notes team coffee plan question answer shipping order account travel ' +
  'photos weekend family lunch contract signature deadline server backup migration holiday newsletter ' +
  'about after again before between could first great little never other right should small still think ' +
  'through under where which while would years always around because during enough often since today'
).split(' ');
const PEOPLE = [
  'Ada Lovelace <ada@example.org>',
  'Grace Hopper <grace@example.net>',
  'Alan Turing <alan@example.com>',
  '"Torvalds, Linus" <linus@example.org>',
  'Margaret Hamilton <mh@example.net>',
  'Shop <orders@shop.example>',
  'Newsletter <news@list.example>',
  '=?UTF-8?Q?Ren=C3=A9_Descartes?= <rene@example.fr>',
  'noreply@service.example',
  '=?ISO-8859-1?Q?J=FCrgen_Habermas?= <jh@example.de>',
];
const ATTACHMENTS: Array<[string, string]> = [
  ['image/jpeg', 'photo-%.jpg'],
  ['application/pdf', 'report-%.pdf'],
  ['application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', 'budget-%.xlsx'],
  ['application/zip', 'archive-%.zip'],
  ['image/png', 'screenshot-%.png'],
];

/** Deterministic pseudo-random octets (AES-CTR keystream): fast enough for ~150 MB, same for the same seed and index. */
function noise(seed: number, index: number, part: number, length: number): Buffer {
  const key = createHash('sha256').update(`corpus:${seed}`).digest().subarray(0, 16);
  const iv = Buffer.alloc(16);
  iv.writeUInt32BE(index, 0);
  iv.writeUInt32BE(part, 4);
  return createCipheriv('aes-128-ctr', key, iv).update(Buffer.alloc(length));
}

function pick<T>(rand: () => number, list: T[]): T {
  return list[Math.floor(rand() * list.length)];
}

function between(rand: () => number, lo: number, hi: number): number {
  return lo + Math.floor(rand() * (hi - lo));
}

/** Lines of words (≤ 76 columns), about `bytes` octets. */
function prose(rand: () => number, bytes: number): string {
  const lines: string[] = [];
  let line = '';
  let total = 0;
  while (total < bytes) {
    const w = pick(rand, WORDS);
    if (line.length + w.length >= 76) {
      lines.push(line);
      total += line.length + 2;
      line = '';
    }
    line += (line ? ' ' : '') + w;
  }
  lines.push(line);
  return lines.join('\r\n');
}

function html(text: string): string {
  const paras = text.split('\r\n').map((l) => `<p style="margin:0 0 8px 0;font-family:Arial">${l}</p>`);
  return ['<!DOCTYPE html>', '<html><head><meta charset="utf-8"><title>message</title></head>', '<body><div class="content">', ...paras, '</div></body></html>'].join('\r\n');
}

function base64Lines(data: Buffer): string {
  return data.toString('base64').replace(/.{76}/g, '$&\r\n');
}

/** Raw attachment size: mostly tens of KB, a tail of hundreds of KB, a few whose base64 lands near 1 MB. */
function attachmentOctets(rand: () => number): number {
  const r = rand();
  if (r < 0.8) return between(rand, 3_000, 40_000);
  if (r < 0.975) return between(rand, 60_000, 300_000);
  return between(rand, 500_000, 700_000);
}

export interface CorpusMessage {
  shape: CorpusShape;
  content: Buffer;
}

/** Message `index` of the corpus for `seed` (`rand` is the corpus's running PRNG). */
function corpusMessage(seed: number, index: number, rand: () => number, to: string): CorpusMessage {
  const r = rand();
  const shape: CorpusShape = r < 0.52 ? 'plain' : r < 0.8 ? 'alternative' : r < 0.9 ? 'html' : 'attachment';
  const from = pick(rand, PEOPLE);
  const words = `${pick(rand, WORDS)} ${pick(rand, WORDS)} ${pick(rand, WORDS)} #${index + 1}`;
  const reply = index > 0 && rand() < 0.3;
  const subject = rand() < 0.1 ? `=?UTF-8?B?${Buffer.from(`Größe ${words}`).toString('base64')}?=` : `${reply ? 'Re: ' : ''}${words}`;
  const date = new Date(Date.UTC(2025, 0, 1) + index * 1_800_000).toUTCString().replace('GMT', '+0000');
  const head = [`Return-Path: <bounce-${index}@example.org>`, `From: ${from}`, `To: ${to}`];
  if (rand() < 0.25) head.push(`Cc: ${pick(rand, PEOPLE)}, ${pick(rand, PEOPLE)}`);
  head.push(`Subject: ${subject}`, `Date: ${date}`, `Message-ID: <corpus-${seed}-${index + 1}@mailstead.invalid>`);
  if (reply) {
    const parent = `<corpus-${seed}-${Math.floor(rand() * index) + 1}@mailstead.invalid>`;
    head.push(`In-Reply-To: ${parent}`, `References: ${parent}`);
  }
  head.push('MIME-Version: 1.0');
  // A plain message alone must reach MIN_OCTETS: the prose is at least 900 octets plus ~300 of headers.
  const body = prose(rand, between(rand, 900, 4_500));
  let parts: string[];
  if (shape === 'plain') {
    parts = ['Content-Type: text/plain; charset=utf-8; format=flowed', 'Content-Transfer-Encoding: 7bit', '', body];
  } else if (shape === 'alternative') {
    parts = alternative(`alt-${index}`, body);
  } else if (shape === 'html') {
    parts = ['Content-Type: text/html; charset=utf-8', 'Content-Transfer-Encoding: 7bit', '', html(prose(rand, between(rand, 3_000, 16_000)))];
  } else {
    const b = `mix-${index}`;
    parts = [`Content-Type: multipart/mixed; boundary="${b}"`, '', 'This is a multi-part message in MIME format.', `--${b}`, ...alternative(`alt-${index}`, body)];
    const count = rand() < 0.8 ? 1 : 2;
    for (let a = 0; a < count; a++) {
      const [type, pattern] = pick(rand, ATTACHMENTS);
      const name = pattern.replace('%', String(index + 1));
      parts.push(
        `--${b}`,
        `Content-Type: ${type}; name="${name}"`,
        `Content-Disposition: attachment; filename="${name}"`,
        'Content-Transfer-Encoding: base64',
        '',
        base64Lines(noise(seed, index, a, Math.floor(attachmentOctets(rand) / count))),
      );
    }
    parts.push(`--${b}--`);
  }
  const content = Buffer.from([...head, ...parts, ''].join('\r\n'));
  // By construction (prose ≥ 900 octets; attachments ≤ 700 KB raw, ~960 KB as base64): a change that breaks it fails at once.
  if (content.length < MIN_OCTETS || content.length > MAX_OCTETS) throw new Error(`corpus message ${index + 1} has ${content.length} octets`);
  return { shape, content };
}

function alternative(b: string, body: string): string[] {
  const qp = html(body).replace(/=/g, '=3D');
  return [
    `Content-Type: multipart/alternative; boundary="${b}"`,
    '',
    `--${b}`,
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 7bit',
    '',
    body,
    `--${b}`,
    'Content-Type: text/html; charset=utf-8',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    qp,
    `--${b}--`,
  ];
}

/** The benchmark mailbox: `count` messages for `to`, the same for the same seed. */
export function mailboxCorpus(count: number, to: string, seed = DEFAULT_SEED): Buffer[] {
  return corpusMessages(count, to, seed).map((m) => m.content);
}

export function corpusMessages(count: number, to: string, seed = DEFAULT_SEED): CorpusMessage[] {
  const rand = prng(seed);
  const out: CorpusMessage[] = [];
  for (let i = 0; i < count; i++) out.push(corpusMessage(seed, i, rand, to));
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
