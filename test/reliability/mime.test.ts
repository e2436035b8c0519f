/**
 * Reliability cases R200-R229: hostile messages through the real ingest path
 * (LMTP), then read back over IMAP: deep nesting, very many parts, huge
 * headers and address lists, and the HTML that made the preview quadratic.
 * While each message is being delivered another session pings NOOP: parsing
 * a hostile message must not stall everybody else (issue 9).
 */
import assert from 'node:assert/strict';
import { type AnswerClass, CANARY_NOOP_MS, type Case, type Ctx, dotStuff, reliabilitySuite, type Wire } from './harness.js';

const MiB = 1024 * 1024;

const HEAD = 'From: Sender <sender@example.org>\r\nTo: mime@example.com\r\nDate: Mon, 7 Dec 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n';

/** Delivers over LMTP while a second session sends NOOPs; every NOOP must be answered within CANARY_NOOP_MS. */
async function deliverWhilePinging(t: Ctx, to: { address: string }, msg: Buffer | string): Promise<AnswerClass> {
  const probe = await t.imap({ login: t.users.probe, select: 'INBOX' });
  const w = await t.lmtp();
  await w.send(`MAIL FROM:<sender@example.org>\r\nRCPT TO:<${to.address}>\r\nDATA\r\n`);
  await w.waitFor(/(^|\r\n)354 [^\r\n]*\r\n/);
  w.mark();
  const bytes = Buffer.isBuffer(msg) ? msg : Buffer.from(msg, 'latin1');
  await w.send(dotStuff(bytes));
  await w.send(bytes.subarray(-2).toString() === '\r\n' ? '.\r\n' : '\r\n.\r\n');
  let done: AnswerClass | null = null;
  const reply = w.smtpAnswer(180_000).then((c) => (done = c));
  let worst = 0;
  let stalled: unknown = null;
  for (let i = 0; done === null && stalled === null; i++) {
    const start = Date.now();
    probe.mark();
    await probe.send(`p${i} NOOP\r\n`);
    const cls = await probe.imapAnswer(`p${i}`, CANARY_NOOP_MS).catch((err: unknown) => (stalled = err));
    if (stalled === null) assert.equal(cls, 'OK', `NOOP p${i} during the delivery`);
    worst = Math.max(worst, Date.now() - start);
    await Promise.race([reply, new Promise((r) => setTimeout(r, 100))]);
  }
  // Even when the server stalled, the case ends only once the delivery has (so no case runs into the next).
  await reply;
  assert.equal(stalled, null, `another session's NOOP was not answered within ${CANARY_NOOP_MS} ms during the delivery`);
  assert.ok(worst < CANARY_NOOP_MS, `a NOOP waited ${worst} ms during the delivery`);
  probe.destroy();
  return done!;
}

/** The newest message of `user`'s INBOX, fetched with `items`; returns [class, text]. */
async function fetchLast(t: Ctx, items: string): Promise<[AnswerClass, Wire]> {
  const w = await t.imap({ login: t.users.mime, select: 'INBOX' });
  w.mark();
  await w.send(`f FETCH * ${items}\r\n`);
  return [await w.imapAnswer('f', 120_000), w];
}

function nestedMultipart(depth: number): string {
  let open = '';
  let close = '';
  for (let i = 0; i < depth; i++) {
    open += `--b${i}\r\nContent-Type: multipart/mixed; boundary="b${i + 1}"\r\n\r\n`;
    close = `\r\n--b${i}--\r\n${close}`;
  }
  return `${HEAD}Subject: nested multipart\r\nContent-Type: multipart/mixed; boundary="b0"\r\n\r\n${open}--b${depth}\r\nContent-Type: text/plain\r\n\r\ndeep\r\n--b${depth}--\r\n${close}`;
}

function nestedRfc822(depth: number): string {
  let s = `${HEAD}Subject: innermost\r\nContent-Type: text/plain\r\n\r\ninnermost body\r\n`;
  for (let i = 0; i < depth; i++) s = `${HEAD}Subject: level ${i}\r\nContent-Type: message/rfc822\r\n\r\n${s}`;
  return s;
}

function manyParts(n: number): string {
  const parts: string[] = [];
  for (let i = 0; i < n; i++) parts.push(`--p\r\nContent-Type: text/plain\r\n\r\npart ${i}\r\n`);
  return `${HEAD}Subject: many parts\r\nContent-Type: multipart/mixed; boundary="p"\r\n\r\n${parts.join('')}--p--\r\n`;
}

function htmlBomb(opener: string, bytes: number): string {
  const html = `<html><body>${opener.repeat(Math.ceil(bytes / opener.length)).slice(0, bytes)}</body></html>`;
  return `${HEAD}Subject: html bomb\r\nContent-Type: text/html; charset=utf-8\r\n\r\n${html.replace(/(.{900})/g, '$1\r\n')}\r\n`;
}

const cases: Case[] = [
  {
    id: 'R200',
    title: '1,000-level nested multipart: delivered without stalling others, BODYSTRUCTURE answered',
    sends: 'multipart/mixed containing multipart/mixed … 1,000 deep, then FETCH * BODYSTRUCTURE',
    expect: ['2xx', 'OK'],
    async run(t) {
      const d = await deliverWhilePinging(t, t.users.mime, nestedMultipart(1000));
      const [f] = await fetchLast(t, '(BODYSTRUCTURE ENVELOPE)');
      return [d, f];
    },
  },
  {
    id: 'R201',
    title: '1,000-level nested message/rfc822: delivered, BODYSTRUCTURE and a 1,000-deep section (past the parsed depth: empty) answered',
    sends: 'message/rfc822 in message/rfc822 … 1,000 deep; FETCH * (BODYSTRUCTURE BODY.PEEK[1.1.1…×1000])',
    expect: ['2xx', 'OK', 'OK'],
    async run(t) {
      const d = await deliverWhilePinging(t, t.users.mime, nestedRfc822(1000));
      const [f, w] = await fetchLast(t, '(BODYSTRUCTURE)');
      w.mark();
      await w.send(`g FETCH * (BODY.PEEK[${Array(1000).fill('1').join('.')}])\r\n`);
      return [d, f, await w.imapAnswer('g')];
    },
  },
  {
    id: 'R202',
    title: '10,001 parts: delivered without stalling others; past the 10,000-part limit the last part runs to the end',
    sends: 'multipart/mixed with 10,001 text/plain parts; FETCH * (BODYSTRUCTURE BODY.PEEK[9999])',
    expect: ['2xx', 'OK'],
    async run(t) {
      const d = await deliverWhilePinging(t, t.users.mime, manyParts(10001));
      // MAX_MIME_PARTS (10,000, as Dovecot) counts the root: 9,999 children, the last holding the rest of the body.
      const [f, w] = await fetchLast(t, '(BODYSTRUCTURE BODY.PEEK[9999])');
      assert.match(w.text(), /BODY\[9999\] \{\d+\}\r\npart 9998\r\n--p\r\n[^]*part 10000\r\n/);
      return [d, f];
    },
  },
  {
    id: 'R203',
    title: 'a 50 MB one-line header: delivered (under the 64 MiB limit) without stalling others, ENVELOPE answered',
    sends: 'X-Long: <50 MiB of "a", no CRLF> then a body',
    expect: ['2xx', 'OK'],
    async run(t) {
      const msg = Buffer.concat([
        Buffer.from(`${HEAD}Subject: long header\r\nX-Long: `),
        Buffer.alloc(50 * MiB, 'a'),
        Buffer.from('\r\nContent-Type: text/plain\r\n\r\nbody\r\n'),
      ]);
      const d = await deliverWhilePinging(t, t.users.mime, msg);
      const [f, w] = await fetchLast(t, '(ENVELOPE RFC822.SIZE BODY.PEEK[HEADER.FIELDS (Subject)])');
      assert.match(w.text(), /Subject: long header/);
      return [d, f];
    },
  },
  // Issue 9: every step of ingest (header decoding, addresses, search text) linear and bounded. Before that work,
  // SEARCH TEXT decoded whole headers and bodies at once (R206 peaked over 1 GB), ingest of R207-R208 stalled every
  // session for seconds and R204 kept ~180 MB.
  {
    id: 'R204',
    title: '100,000 encoded-words in Subject: delivered, ENVELOPE answered',
    sends: 'Subject: =?utf-8?B?w6k=?= × 100,000 (folded)',
    expect: ['2xx', 'OK'],
    async run(t) {
      const subject = Array(100000).fill('=?utf-8?B?w6k=?=').join('\r\n ');
      const msg = `${HEAD}Subject: ${subject}\r\nContent-Type: text/plain\r\n\r\nbody\r\n`;
      const d = await deliverWhilePinging(t, t.users.mime, msg);
      const [f] = await fetchLast(t, '(ENVELOPE)');
      return [d, f];
    },
  },
  {
    id: 'R205',
    title: '100,000 header fields and a Content-Type with 10,000 parameters: delivered, BODYSTRUCTURE answered',
    sends: 'X-F0: v\\r\\n … X-F99999: v\\r\\n; Content-Type: text/plain; p0=v; … p9999=v',
    expect: ['2xx', 'OK'],
    async run(t) {
      const fields = Array.from({ length: 100000 }, (_, i) => `X-F${i}: v`).join('\r\n');
      const params = Array.from({ length: 10000 }, (_, i) => `p${i}=v`).join(';\r\n ');
      const msg = `${HEAD}Subject: many fields\r\n${fields}\r\nContent-Type: text/plain; ${params}\r\n\r\nbody\r\n`;
      const d = await deliverWhilePinging(t, t.users.mime, msg);
      const [f] = await fetchLast(t, '(BODYSTRUCTURE)');
      return [d, f];
    },
  },
  {
    id: 'R206',
    title: 'SEARCH TEXT over all the hostile messages: answered, others not stalled',
    sends: 's SEARCH TEXT "needle"\\r\\n',
    expect: 'OK',
    async run(t) {
      const w = await t.imap({ login: t.users.mime, select: 'INBOX' });
      w.mark();
      await w.send('s SEARCH TEXT "needle"\r\n');
      return w.imapAnswer('s', 120_000);
    },
  },
  {
    id: 'R207',
    title: '500,000 address lines in To: delivered without stalling others, ENVELOPE answered',
    sends: 'To: a0@example.com,\\r\\n a1@example.com,\\r\\n … 500,000 lines',
    expect: ['2xx', 'OK'],
    async run(t) {
      const lines: string[] = [];
      for (let i = 0; i < 500000; i++) lines.push(`a${i}@example.com`);
      const msg = `From: s@example.org\r\nSubject: many addresses\r\nTo: ${lines.join(',\r\n ')}\r\nContent-Type: text/plain\r\n\r\nbody\r\n`;
      const d = await deliverWhilePinging(t, t.users.mime, msg);
      const [f] = await fetchLast(t, '(ENVELOPE)');
      return [d, f];
    },
  },
  {
    id: 'R208',
    title: 'a boundary never closed and 200,000 empty parts: delivered, BODYSTRUCTURE answered',
    sends: 'multipart/mixed; boundary=b, then "--b\\r\\n" × 200,000, no closing delimiter',
    expect: ['2xx', 'OK'],
    async run(t) {
      const msg = `${HEAD}Subject: unclosed\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n${'--b\r\n'.repeat(200000)}`;
      const d = await deliverWhilePinging(t, t.users.mime, msg);
      const [f] = await fetchLast(t, '(BODYSTRUCTURE)');
      return [d, f];
    },
  },
  // The preview cases (issue 9: quadratic HTML stripping); they stall the server until that fix is merged.
  {
    id: 'R209',
    title: 'the quadratic-preview message (1 MB of unclosed <style in an HTML part): delivered promptly, nobody stalled',
    sends: 'text/html: "<style" × 174,763 (1 MiB), no ">"',
    expect: ['2xx', 'OK'],
    async run(t) {
      const d = await deliverWhilePinging(t, t.users.mime, htmlBomb('<style', MiB));
      const [f] = await fetchLast(t, '(PREVIEW)');
      return [d, f];
    },
  },
  {
    id: 'R210',
    title: '300 KB of unclosed <script in an HTML part: delivered promptly, nobody stalled',
    sends: 'text/html: "<script" × 42,858, no ">"',
    expect: ['2xx', 'OK'],
    async run(t) {
      const d = await deliverWhilePinging(t, t.users.mime, htmlBomb('<script', 300 * 1024));
      const [f] = await fetchLast(t, '(PREVIEW)');
      return [d, f];
    },
  },
  {
    id: 'R211',
    title: '300 KB of unclosed <!-- in an HTML part: delivered promptly, nobody stalled',
    sends: 'text/html: "<!--" × 76,800, no "-->"',
    expect: ['2xx', 'OK'],
    async run(t) {
      const d = await deliverWhilePinging(t, t.users.mime, htmlBomb('<!--', 300 * 1024));
      const [f] = await fetchLast(t, '(PREVIEW)');
      return [d, f];
    },
  },
];

// Messages of up to 50 MB pass through here: allow the allocator to keep about two of them (see memorySlackMiB).
reliabilitySuite('reliability: hostile messages', { users: ['mime', 'probe'], memorySlackMiB: 160 }, cases);
