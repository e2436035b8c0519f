/**
 * Hostile input against the real POP3 session (SQLite in memory, the local
 * bus, the domain), fed through FakeConnection in random pieces.
 * Properties: feed() never throws; nothing is logged as an error; every
 * input line gets exactly one reply (+OK, -ERR or a SASL "+ "), status lines
 * are at most 512 octets and multi-line replies are dot-stuffed and ended;
 * and the session still answers a final CAPA unless it closed for a
 * documented reason (QUIT, too many bad commands, the maildrop in use).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { MailDomain } from '../../src/domain/mail-domain.js';
import { hashPassword } from '../../src/domain/passwords.js';
import { LocalBus } from '../../src/notify/bus.js';
import { createPop3Session } from '../../src/pop3/session.js';
import { parsePop3Command } from '../../src/protocol/pop3/command.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import type { MailStore } from '../../src/store/types.js';
import { FakeConnection } from '../helpers/fake-connection.js';
import { errorRecorder, feedPlan, readPop3Output, splitAt, tick, until, type Pop3Expect } from './wire.js';

const USER = 'pop@example.com';
const PASSWORD = 'pop password';
const DOCUMENTED_END = /^(\+OK Bye|-ERR Too many bad commands|-ERR \[IN-USE\]|-ERR \[AUTH\] Authentication failed; too many failures, closing)/;
const MESSAGE = Buffer.from('From: a@example.com\r\nSubject: dots\r\n\r\n.\r\n..two\r\n.start\r\nend\r\n');

let store: MailStore;
let domain: MailDomain;

before(async () => {
  store = await openSqliteStore(':memory:');
  domain = new MailDomain(store, new LocalBus());
  const account = await domain.createAccount(USER, PASSWORD);
  await store.setPasswordHash(account.id, await hashPassword(PASSWORD, { logN: 4, r: 8, p: 1 }));
});
after(async () => {
  await domain.bus.close();
  await store.close();
});

/** Which replies are multi-line when +OK: decided from the line the reply answers, as a client would. */
function expectations(lines: string[]): (index: number, status: string) => Pop3Expect {
  const kinds: Pop3Expect[] = [];
  let sasl = false;
  for (const raw of lines) {
    if (sasl) {
      kinds.push('single');
      sasl = false;
      continue;
    }
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const c = parsePop3Command(Buffer.from(line, 'latin1').toString('utf8'));
    if ('error' in c) kinds.push('single');
    else if (c.name === 'CAPA' || c.name === 'RETR' || c.name === 'TOP') kinds.push('multi');
    else if ((c.name === 'LIST' || c.name === 'UIDL') && c.args.msg === undefined) kinds.push('multi');
    else if (c.name === 'AUTH' && c.args.mechanism === undefined) kinds.push('multi');
    else kinds.push('single');
  }
  return (index, status) => {
    // AUTH PLAIN without an initial response is answered "+ " and the next line is its response.
    if (status.startsWith('+ ')) sasl = true;
    return kinds[index] ?? 'single';
  };
}

async function runPop3(chunks: Buffer[], pauses: boolean[]): Promise<void> {
  const inbox = await store.getMailbox((await store.getAccount(USER))!.id, 'INBOX');
  if ((await store.listMessages(inbox!.id)).length < 4) await domain.deliver(USER, MESSAGE);
  const recorder = errorRecorder();
  const conn = new FakeConnection({ secure: true, remoteAddress: '192.0.2.9' });
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
  await conn.waitFor('+OK Mailstead POP3 ready\r\n');
  conn.take();
  const thrown: unknown[] = [];
  const feed = (bytes: Buffer) => {
    if (conn.closedByServer) return;
    try {
      conn.send(bytes);
    } catch (err) {
      thrown.push(err);
    }
  };
  for (const [i, chunk] of chunks.entries()) {
    feed(chunk);
    if (pauses[i % pauses.length]) await tick();
  }
  // End a line left open, then ask for the capabilities (allowed in every state).
  const input = Buffer.concat([...chunks, Buffer.from('\r\nCAPA\r\n')]);
  feed(Buffer.from('\r\nCAPA\r\n'));
  const lines = input.toString('latin1').split('\n').slice(0, -1);
  const expect = expectations(lines);
  const read = () => readPop3Output(Buffer.from(conn.text(), 'latin1'), expect);
  await until(
    () => conn.closedByServer || read().answered >= lines.length,
    () => `${read().answered} of ${lines.length} lines answered; output:\n${conn.text().slice(-1500)}`,
  );
  await tick();
  session.closed();
  assert.deepEqual(thrown, [], 'feed() threw');
  assert.deepEqual(recorder.errors, [], 'the session logged an error');
  const reading = read();
  assert.deepEqual(reading.problems, [], 'malformed output');
  if (conn.closedByServer) {
    // Every line before the end got its reply; the last reply says why the session ended.
    assert.match(reading.replies.at(-1) ?? '', DOCUMENTED_END, 'closed for an undocumented reason');
    assert.ok(reading.answered <= lines.length + 1, 'more replies than lines');
  } else {
    assert.equal(reading.answered, lines.length, 'not every line got exactly one reply');
    assert.match(reading.replies.at(-1)!, /^\+OK Capability list follows\r\n/);
  }
}

const number = fc.constantFrom('1', '2', '0', '-1', '4294967296', '99999999999999999999', '1e3', '', ' ', '1 2', '０', '00001');
const line = fc.oneof(
  fc.constantFrom('CAPA', 'STAT', 'LIST', 'UIDL', 'NOOP', 'RSET', 'STLS', 'AUTH', 'APOP x y', 'XTND', '', ' ', 'quit ', 'capa'),
  fc.constantFrom(`USER ${USER}`, `PASS ${PASSWORD}`, `USER ${USER}#phone`, 'PASS wrong', 'USER', 'PASS', `USER ${USER} extra`),
  fc.constantFrom(
    `AUTH PLAIN ${Buffer.from(`\0${USER}\0${PASSWORD}`).toString('base64')}`,
    `AUTH PLAIN ${Buffer.from(`other\0${USER}\0${PASSWORD}`).toString('base64')}`,
    'AUTH PLAIN =',
    'AUTH PLAIN !!!',
    'AUTH PLAIN',
    'AUTH CRAM-MD5',
    '*',
  ),
  fc.tuple(fc.constantFrom('LIST', 'UIDL', 'RETR', 'DELE', 'TOP'), number, fc.option(number)).map(([c, a, b]) => `${c} ${a}${b === null ? '' : ' ' + b}`),
  fc.string({ unit: fc.constantFrom(...'aZ1 .\0\u00ff\r\t'.split('')), maxLength: 30 }),
);
const login = fc.constantFrom<string[]>([], [`USER ${USER}`, `PASS ${PASSWORD}`], [`USER ${USER}`, `PASS ${PASSWORD}`]);
const quitRarely = fc.oneof({ weight: 30, arbitrary: line }, { weight: 1, arbitrary: fc.constant('QUIT') });
const sessionLines = fc
  .tuple(login, fc.array(quitRarely, { minLength: 1, maxLength: 14 }), fc.constantFrom('\r\n', '\n'))
  .map(([open, rest, eol]) => Buffer.from([...open, ...rest].map((l) => l + eol).join(''), 'latin1'));

describe('POP3 session under hostile input (fast-check)', () => {
  it('random bytes, split anywhere: one reply per line, framed output, still answering', async () => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
      fc.nat(20000).map((n) => Buffer.alloc(n, 'x')), // past the 8 KiB line limit
    );
    await fc.assert(
      fc.asyncProperty(bytes, feedPlan, async (input, plan) => runPop3(splitAt(input, plan.cuts), plan.pauses)),
      { numRuns: 60 },
    );
  });

  it('mostly-valid commands with mutated arguments, in any state: one reply per line', async () => {
    await fc.assert(
      fc.asyncProperty(sessionLines, feedPlan, async (input, plan) => runPop3(splitAt(input, plan.cuts), plan.pauses)),
      { numRuns: 150 },
    );
  });
});
