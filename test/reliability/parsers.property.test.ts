/**
 * fast-check properties of the parsers under random and mutated bytes, from
 * every state, split at random points (issue 9):
 * - IMAP: the command reader alone (only typed events, its buffer within
 *   src/protocol/limits.ts), and the real session from not authenticated,
 *   authenticated, selected, IDLE and inside an APPEND literal;
 * - POP3: the real session in AUTHORIZATION and TRANSACTION;
 * - LMTP: the real listener (smtp-server) over a socket after LHLO, MAIL,
 *   RCPT and inside DATA;
 * - MIME: the src/mail parser on mutated corpus messages (test/fixtures/mime).
 * Each only ever produces its protocol's error reply (or a typed parse
 * error), never throws, never logs an internal error, and stays in bounds.
 * numRuns are small: the whole reliability suite stays within minutes.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { MailDomain } from '../../src/domain/mail-domain.js';
import { hashPassword } from '../../src/domain/passwords.js';
import { createImapSession } from '../../src/imap/session.js';
import { createLmtpServer, type LmtpServer } from '../../src/lmtp/server.js';
import { bodyStructure, envelope, MAX_MIME_DEPTH, parseMessage, summarize, type MimePart } from '../../src/mail/index.js';
import { LocalBus } from '../../src/notify/bus.js';
import { createPop3Session } from '../../src/pop3/session.js';
import { limits } from '../../src/protocol/limits.js';
import { CommandReader } from '../../src/protocol/imap/reader.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import type { MailStore } from '../../src/store/types.js';
import { FakeConnection } from '../helpers/fake-connection.js';
import { ROOT } from '../helpers/server.js';
import { errorRecorder, feedPlan, readImapOutput, splitAt, tick, until } from '../property/wire.js';

const USER = 'rel-prop@example.com';
const PASSWORD = 'rel-prop password';
const MESSAGE = Buffer.from(
  'From: Bob <bob@example.org>\r\nTo: rel-prop@example.com\r\nSubject: prop\r\nDate: Mon, 7 Feb 1994 21:52:25 -0800\r\n' +
    'Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b--\r\n',
);
const MAX_MESSAGE_BYTES = 256 * 1024;

let store: MailStore;
let domain: MailDomain;

before(async () => {
  store = await openSqliteStore(':memory:');
  domain = new MailDomain(store, new LocalBus());
  const account = await domain.createAccount(USER, PASSWORD);
  await store.setPasswordHash(account.id, await hashPassword(PASSWORD, { logN: 4, r: 8, p: 1 }));
  for (let i = 0; i < 3; i++) await domain.deliver(USER, MESSAGE);
});
after(async () => {
  await domain.bus.close();
  await store.close();
});

/** Random bytes: raw, or protocol-flavoured (CR, LF, NUL, braces, quotes, keywords), or past a line limit. */
const hostileBytes = fc.oneof(
  { weight: 3, arbitrary: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)) },
  {
    weight: 4,
    arbitrary: fc
      .array(
        fc.constantFrom(
          ...'a1 *()[]{}"\\\r\n\0\u00ff+~:,.<>%$-'.split(''),
          '\r\n',
          'NOOP',
          'DONE',
          'FETCH 1 BODY[]',
          '{5}\r\n',
          '{4294967296}\r\n',
          '{3+}\r\n',
          '.\r\n',
          'RCPT TO:<x@y>',
          'DATA',
          'QUIT',
          'RSET',
          'USER x',
          'PASS y',
        ),
        { maxLength: 80 },
      )
      .map((parts) => Buffer.from(parts.join(''), 'latin1')),
  },
  { weight: 1, arbitrary: fc.integer({ min: 8000, max: 80000 }).map((n) => Buffer.alloc(n, 'x')) },
);

// ------------------------------------------------------------------ IMAP reader

describe('IMAP command reader under random bytes (fast-check)', () => {
  it('only typed events, never a throw, buffered bytes within the limits', () => {
    const opts = {
      maxLineBytes: limits.imapMaxLineBytes,
      maxLiteralBytes: limits.imapMaxSmallLiteralBytes,
      maxAppendLiteralBytes: limits.imapMaxSmallLiteralBytes,
      maxNesting: limits.imapMaxNesting,
      maxNonSyncLiteralBytes: limits.imapLiteralMinusBytes,
    };
    fc.assert(
      fc.property(fc.array(hostileBytes, { minLength: 1, maxLength: 4 }), feedPlan, fc.boolean(), (pieces, plan, loggedIn) => {
        const reader = new CommandReader(opts);
        if (loggedIn) reader.setMaxNonSyncLiteralBytes(Number.POSITIVE_INFINITY);
        for (const chunk of splitAt(Buffer.concat(pieces), plan.cuts)) {
          reader.push(chunk);
          for (let e = reader.next(); e !== null; e = reader.next()) {
            assert.ok(['command', 'bad', 'continue', 'line'].includes(e.type), `untyped event ${JSON.stringify(e)}`);
            if (e.type === 'bad') {
              assert.equal(typeof e.text, 'string');
              assert.ok(e.tag.length <= limits.imapMaxLineBytes);
            }
            if (e.type === 'command') assert.equal(typeof e.command.tag, 'string');
          }
          // A fully drained reader holds at most one line and the literals of one command, plus the piece just pushed.
          const bound = limits.imapMaxLineBytes + limits.imapMaxSmallLiteralBytes + chunk.length;
          assert.ok(reader.bufferedBytes <= bound, `${reader.bufferedBytes} bytes buffered`);
        }
      }),
      { numRuns: 300 },
    );
  });
});

// ------------------------------------------------------------------ IMAP session, every state

type ImapState = 'not-authenticated' | 'authenticated' | 'selected' | 'idle' | 'append-literal';
const IMAP_PREFIX: Record<ImapState, string> = {
  'not-authenticated': '',
  authenticated: `P1 LOGIN "${USER}" "${PASSWORD}"\r\n`,
  selected: `P1 LOGIN "${USER}" "${PASSWORD}"\r\nP2 SELECT INBOX\r\n`,
  idle: `P1 LOGIN "${USER}" "${PASSWORD}"\r\nP2 SELECT INBOX\r\nP3 IDLE\r\n`,
  'append-literal': `P1 LOGIN "${USER}" "${PASSWORD}"\r\nP4 APPEND INBOX {400}\r\n`,
};
/** What the prefix must have produced before the random bytes go in. */
const IMAP_READY: Record<ImapState, RegExp> = {
  'not-authenticated': /Mailstead ready\r\n/,
  authenticated: /\r\nP1 OK /,
  selected: /\r\nP2 OK /,
  idle: /\r\nP2 OK [\s\S]*\r\n\+ [^\r\n]*\r\n$/,
  'append-literal': /\r\n\+ [^\r\n]*\r\n$/,
};
const DOCUMENTED_BYE = /^\* BYE (Logging out|Too many invalid commands|Too many authentication failures|Selected mailbox was deleted)/;

async function imapFromState(state: ImapState, chunks: Buffer[], pauses: boolean[]): Promise<void> {
  const recorder = errorRecorder();
  const conn = new FakeConnection({ secure: true, remoteAddress: '192.0.2.10' });
  const session = createImapSession(conn, {
    domain,
    log: recorder.log,
    hostname: 'mail.example.com',
    tlsAvailable: true,
    allowCleartextAuthFromLoopback: false,
    authFailureDelayMs: 1,
    idleKeepaliveMs: 120000,
    unauthenticatedTimeoutMs: 60000,
    authenticatedTimeoutMs: 1800000,
    maxMessageBytes: MAX_MESSAGE_BYTES,
  });
  conn.session = session;
  const thrown: unknown[] = [];
  const feed = (b: Buffer) => {
    if (conn.closedByServer) return;
    try {
      conn.send(b);
    } catch (err) {
      thrown.push(err);
    }
  };
  await conn.waitFor('Mailstead ready\r\n');
  if (IMAP_PREFIX[state]) {
    feed(Buffer.from(IMAP_PREFIX[state]));
    await until(
      () => IMAP_READY[state].test(conn.text()),
      () => `state ${state} not reached: ${conn.text().slice(-500)}`,
    );
  }
  for (const [i, c] of chunks.entries()) {
    feed(c);
    if (pauses[i % pauses.length]) await tick();
  }
  // Leave the state: fill any literal, end IDLE, end any line, drain a literal the bytes announced; then a final NOOP.
  const all = Buffer.concat(chunks);
  const announced = Math.max(0, ...[...all.toString('latin1').matchAll(/\{(\d{1,6})\+?\}\r?\n/g)].map((m) => Number(m[1])).filter((n) => n <= MAX_MESSAGE_BYTES));
  const fill = state === 'append-literal' ? 400 : 0;
  feed(Buffer.alloc(fill, 'f'));
  feed(Buffer.from(`\r\n${state === 'idle' ? 'DONE\r\n' : ''}${'\r\n'.repeat(Math.ceil(announced / 2) + 2)}ZFIN NOOP\r\n`));
  if (state === 'idle') feed(Buffer.from('DONE\r\nZFIN NOOP\r\n'));
  await until(
    () => conn.closedByServer || /(^|\r\n)ZFIN (OK|NO|BAD)[^\r\n]*\r\n/.test(conn.text()),
    () => `no answer to the final NOOP from state ${state}: ${conn.text().slice(-1500)}`,
    10_000,
  );
  await tick();
  session.closed();
  assert.deepEqual(thrown, [], 'feed() threw');
  assert.deepEqual(recorder.errors, [], 'the session logged an error');
  const reading = readImapOutput(Buffer.from(conn.text(), 'latin1'), 8192);
  assert.deepEqual(reading.problems, [], 'malformed output');
  for (const r of reading.responses) assert.doesNotMatch(r, /SERVERBUG|Internal error/);
  if (conn.closedByServer) assert.match(reading.bye ?? '', DOCUMENTED_BYE, 'closed for an undocumented reason');
}

describe('IMAP session from every state under random bytes (fast-check)', () => {
  for (const state of Object.keys(IMAP_PREFIX) as ImapState[]) {
    it(`from ${state}: no throw, framed output, only protocol errors, still answering`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(hostileBytes, { minLength: 1, maxLength: 2 }), feedPlan, async (pieces, plan) =>
          imapFromState(state, splitAt(Buffer.concat(pieces), plan.cuts), plan.pauses),
        ),
        { numRuns: 25 },
      );
    });
  }
});

// ------------------------------------------------------------------ POP3 session, both states

async function pop3FromState(transaction: boolean, chunks: Buffer[], pauses: boolean[]): Promise<void> {
  const recorder = errorRecorder();
  const conn = new FakeConnection({ secure: true, remoteAddress: '192.0.2.11' });
  const session = createPop3Session(conn, {
    domain,
    log: recorder.log,
    hostname: 'mail.example.com',
    tlsAvailable: true,
    allowCleartextAuthFromLoopback: false,
    authFailureDelayMs: 1,
    idleTimeoutMs: 600000,
    unauthenticatedTimeoutMs: 60000,
  });
  conn.session = session;
  const thrown: unknown[] = [];
  const feed = (b: Buffer) => {
    if (conn.closedByServer) return;
    try {
      conn.send(b);
    } catch (err) {
      thrown.push(err);
    }
  };
  await conn.waitFor('+OK Mailstead POP3 ready\r\n');
  if (transaction) {
    feed(Buffer.from(`USER ${USER}\r\nPASS ${PASSWORD}\r\n`));
    await until(() => /\+OK Logged in\r\n/.test(conn.text()), () => `no login: ${conn.text()}`);
  }
  for (const [i, c] of chunks.entries()) {
    feed(c);
    if (pauses[i % pauses.length]) await tick();
  }
  feed(Buffer.from('\r\n*\r\nNOOP\r\nCAPA\r\n'));
  await until(
    () => conn.closedByServer || /\r\nIMPLEMENTATION Mailstead\r\n\.\r\n$/.test(conn.text()),
    () => `no answer to the final CAPA: ${conn.text().slice(-1500)}`,
    10_000,
  );
  await tick();
  session.closed();
  assert.deepEqual(thrown, [], 'feed() threw');
  assert.deepEqual(recorder.errors, [], 'the session logged an error');
  // Every status line is +OK, -ERR or a SASL "+ " (or a line of a multi-line body), framed by CRLF and bounded.
  const text = conn.text();
  assert.ok(text.endsWith('\r\n'), 'output not CRLF-terminated');
  for (const line of text.split('\r\n').slice(0, -1)) {
    assert.doesNotMatch(line, /[\r\n\0]/, 'bare CR, LF or NUL in a reply');
    if (/^(\+OK|-ERR)/.test(line)) assert.ok(line.length + 2 <= 512, 'status line over 512 octets');
    assert.doesNotMatch(line, /Internal server error/);
  }
  if (conn.closedByServer) assert.match(text, /(\+OK Bye[^\r\n]*|-ERR Too many bad commands|-ERR \[IN-USE\][^\r\n]*|-ERR \[AUTH\] Authentication failed; too many failures, closing)\r\n$/);
}

describe('POP3 session from both states under random bytes (fast-check)', () => {
  for (const transaction of [false, true]) {
    it(`from ${transaction ? 'TRANSACTION' : 'AUTHORIZATION'}: no throw, framed output, only -ERR for garbage, still answering`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(hostileBytes, { minLength: 1, maxLength: 2 }), feedPlan, async (pieces, plan) =>
          pop3FromState(transaction, splitAt(Buffer.concat(pieces), plan.cuts), plan.pauses),
        ),
        { numRuns: 30 },
      );
    });
  }
});

// ------------------------------------------------------------------ LMTP listener over a socket

type LmtpState = 'LHLO' | 'MAIL' | 'RCPT' | 'DATA';
const LMTP_PREFIX: Record<LmtpState, string> = {
  LHLO: 'LHLO prop.example\r\n',
  MAIL: 'LHLO prop.example\r\nMAIL FROM:<s@example.org>\r\n',
  RCPT: `LHLO prop.example\r\nMAIL FROM:<s@example.org>\r\nRCPT TO:<${USER}>\r\n`,
  DATA: `LHLO prop.example\r\nMAIL FROM:<s@example.org>\r\nRCPT TO:<${USER}>\r\nDATA\r\n`,
};

describe('LMTP listener from every state under random bytes (fast-check)', () => {
  let lmtp: LmtpServer;
  let port = 0;
  const recorder = errorRecorder();
  before(async () => {
    lmtp = createLmtpServer({ domain, log: recorder.log, hostname: 'mail.example.com', maxMessageBytes: MAX_MESSAGE_BYTES, maxClients: 50 });
    await new Promise<void>((resolve) => lmtp.server.listen(0, '127.0.0.1', () => resolve()));
    const a = lmtp.server.server.address();
    port = typeof a === 'object' && a ? a.port : 0;
  });
  after(async () => {
    await lmtp.close();
  });

  async function lmtpFromState(state: LmtpState, chunks: Buffer[]): Promise<void> {
    const s: Socket = connect(port, '127.0.0.1');
    s.setNoDelay(true);
    let out = '';
    let closed = false;
    s.on('data', (d: Buffer) => (out += d.toString('latin1')));
    s.on('error', () => {});
    const gone = new Promise<void>((resolve) => s.on('close', () => ((closed = true), resolve())));
    await until(() => out.includes('\r\n') || closed, () => 'no greeting');
    s.write(LMTP_PREFIX[state]);
    const needed = (LMTP_PREFIX[state].match(/\r\n/g) ?? []).length;
    await until(
      () => closed || (out.match(/(^|\r\n)\d{3} /g) ?? []).length >= needed + 1,
      () => `state ${state} not reached: ${out}`,
      10_000,
    );
    for (const c of chunks) {
      if (closed) break;
      s.write(c);
      await tick();
    }
    // End DATA if it is open (twice: the random bytes may have opened another), then leave.
    if (!closed) s.write('\r\n.\r\nRSET\r\n\r\n.\r\nQUIT\r\n');
    await Promise.race([gone, new Promise((r) => setTimeout(r, 10_000))]);
    assert.ok(closed, `the connection did not end after QUIT; output: ${out.slice(-800)}`);
    for (const line of out.split('\r\n').slice(0, -1)) assert.match(line, /^[2345]\d\d[ -][\x20-\x7e]*$/, `not an LMTP reply line: ${JSON.stringify(line.slice(0, 200))}`);
    assert.doesNotMatch(out, /SQLITE|\.ts:\d|\.js:\d|node_modules| {4}at /, 'an internal detail reached the client');
    assert.deepEqual(recorder.errors, [], 'the LMTP server logged an error');
  }

  for (const state of Object.keys(LMTP_PREFIX) as LmtpState[]) {
    it(`after ${state}: only LMTP replies, no internal errors, the session ends cleanly`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(hostileBytes, { minLength: 1, maxLength: 2 }), feedPlan, async (pieces, plan) =>
          lmtpFromState(state, splitAt(Buffer.concat(pieces), plan.cuts)),
        ),
        { numRuns: 15 },
      );
    });
  }
});

// ------------------------------------------------------------------ MIME parser on mutated corpus messages

const corpusDir = join(ROOT, 'test/fixtures/mime');
const corpus = readdirSync(corpusDir)
  .filter((f) => f.endsWith('.eml'))
  .map((f) => readFileSync(join(corpusDir, f)));

const MIME_SNIPPETS = ['\r\n', '\n', '\r', '\0', '--', '--b', '--b--', '\r\n\r\n', 'Content-Type: multipart/mixed; boundary=b\r\n', 'Content-Type: message/rfc822\r\n', '=?utf-8?B?', '?=', ';', '"', '\\', '\u00ff'].map((s) =>
  Buffer.from(s, 'latin1'),
);

/** A mutation of a corpus message: flip, insert, delete, duplicate or truncate at random places. */
const mutated = fc
  .tuple(
    fc.nat(corpus.length - 1),
    fc.array(
      fc.tuple(fc.constantFrom('flip', 'insert', 'delete', 'duplicate', 'truncate'), fc.nat(), fc.nat(255), fc.nat(MIME_SNIPPETS.length - 1), fc.nat(400)),
      { minLength: 1, maxLength: 8 },
    ),
  )
  .map(([which, edits]) => {
    let b = Buffer.from(corpus[which]);
    for (const [op, at, byte, snippet, len] of edits) {
      const i = b.length ? at % b.length : 0;
      if (op === 'flip' && b.length) b[i] = byte;
      else if (op === 'insert') b = Buffer.concat([b.subarray(0, i), MIME_SNIPPETS[snippet], b.subarray(i)]);
      else if (op === 'delete') b = Buffer.concat([b.subarray(0, i), b.subarray(i + len)]);
      else if (op === 'duplicate') b = Buffer.concat([b.subarray(0, i + len), b.subarray(i)]);
      else if (op === 'truncate') b = b.subarray(0, i);
    }
    return b;
  });

function checkPart(part: MimePart, lo: number, hi: number, depth: number): void {
  assert.ok(depth <= MAX_MIME_DEPTH + 2, `nesting ${depth} past MAX_MIME_DEPTH`);
  assert.ok(lo <= part.headerStart, `headerStart ${part.headerStart} before ${lo}`);
  assert.ok(part.headerStart <= part.fieldsEnd && part.fieldsEnd <= part.bodyStart, 'header offsets out of order');
  assert.ok(part.bodyStart <= part.end && part.end <= hi, `body [${part.bodyStart}, ${part.end}) outside [${lo}, ${hi})`);
  let last = part.bodyStart;
  for (const child of part.children ?? []) {
    checkPart(child, last, part.end, depth + 1);
    last = child.headerStart;
  }
  if (part.message) checkPart(part.message, part.bodyStart, part.end, depth + 1);
}

describe('MIME parser on mutated corpus messages (fast-check)', () => {
  it('never throws, offsets stay within the message, nesting bounded; ENVELOPE, BODYSTRUCTURE and the summary never throw', () => {
    assert.ok(corpus.length > 5, 'the MIME corpus is missing');
    fc.assert(
      fc.property(mutated, (raw) => {
        const s = parseMessage(raw);
        assert.equal(s.size, raw.length);
        checkPart(s.root, 0, raw.length, 0);
        envelope(raw, s);
        bodyStructure(raw, s, true);
        summarize(raw, s);
      }),
      { numRuns: 400 },
    );
  });
});
