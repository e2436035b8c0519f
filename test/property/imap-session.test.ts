/**
 * Hostile input against the real IMAP session (a real SQLite store in
 * memory, the local bus, the domain), fed through FakeConnection in random
 * pieces. Properties: feed() never throws; nothing is logged as an error and
 * no SERVERBUG goes out; every line written is CRLF-framed, bounded and
 * announces its literals truthfully; each tagged command gets exactly one
 * tagged completion; and the session still answers a final NOOP unless it
 * said BYE for a documented reason (LOGOUT, too many invalid commands, its
 * mailbox deleted).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { MailDomain } from '../../src/domain/mail-domain.js';
import { hashPassword } from '../../src/domain/passwords.js';
import { createImapSession, type ImapContext } from '../../src/imap/session.js';
import { LocalBus } from '../../src/notify/bus.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import type { MailStore } from '../../src/store/types.js';
import { FakeConnection } from '../helpers/fake-connection.js';
import { framingDamage, MESSAGE, PASSWORD, USER, wellFramedSession, wellFramedSessionWithCompress } from './imap-commands.js';
import { errorRecorder, feedPlan, largestAnnouncedLiteral, readImapOutput, splitAt, tick, until } from './wire.js';

/** No response line of ours comes near this; a longer one means client input was echoed or a list ran away. */
const MAX_RESPONSE_LINE = 8192;
const MAX_MESSAGE_BYTES = 256 * 1024;
const DOCUMENTED_BYE = /^\* BYE (Logging out|Too many invalid commands|Too many authentication failures|Selected mailbox was deleted)/;
const FINAL = 'ZZFINAL';

let store: MailStore;
let domain: MailDomain;

before(async () => {
  store = await openSqliteStore(':memory:');
  domain = new MailDomain(store, new LocalBus());
  const account = await domain.createAccount(USER, PASSWORD);
  // A cheap scrypt cost (the hash names its parameters), so the many LOGINs of a run stay fast.
  await store.setPasswordHash(account.id, await hashPassword(PASSWORD, { logN: 4, r: 8, p: 1 }));
});
after(async () => {
  await domain.bus.close();
  await store.close();
});

interface Run {
  out: Buffer;
  closed: boolean;
  errors: string[];
  thrown: unknown[];
}

/** Feeds `chunks`, then CRLFs to end any line or literal left open, then a final NOOP; waits for its answer or a close. */
async function runImap(chunks: Buffer[], pauses: boolean[], opts: { secure?: boolean } = {}): Promise<Run> {
  // Keep a few messages to fetch, copy and expunge, but not so many that each run slows down.
  const inbox = await store.getMailbox((await store.getAccount(USER))!.id, 'INBOX');
  if (!inbox || (await store.listMessages(inbox.id)).length < 6) await domain.deliver(USER, MESSAGE);
  const recorder = errorRecorder();
  const conn = new FakeConnection({ secure: opts.secure ?? true, remoteAddress: '192.0.2.9' });
  const ctx: ImapContext = {
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
  };
  const session = createImapSession(conn, ctx);
  conn.session = session;
  const thrown: unknown[] = [];
  const feed = (bytes: Buffer) => {
    if (conn.closedByServer) return;
    try {
      conn.send(bytes);
    } catch (err) {
      thrown.push(err);
    }
  };
  await conn.waitFor('Mailstead ready\r\n');
  for (const [i, chunk] of chunks.entries()) {
    feed(chunk);
    if (pauses[i % pauses.length]) await tick();
  }
  const all = Buffer.concat(chunks);
  // RFC 4978 §3 and RFC 9051 §6.2.1: nothing may follow COMPRESS or STARTTLS until its OK has been
  // read; what does is dropped on purpose, so the final NOOP waits for the session to settle.
  if (/COMPRESS|STARTTLS/i.test(all.toString('latin1'))) await settle(conn);
  const drain = largestAnnouncedLiteral(all, MAX_MESSAGE_BYTES);
  const sendFinal = () => {
    feed(Buffer.from('\r\n'.repeat(Math.ceil(drain / 2) + 2)));
    feed(Buffer.from(`${FINAL} NOOP\r\n`));
  };
  sendFinal();
  // A COMPRESS still queued when the final NOOP was sent drops it (RFC 4978 §3): send it again once compressed.
  let resent = conn.compressed;
  const finalDone = new RegExp(`(^|\\r\\n)${FINAL} (OK|NO|BAD)[^\\r\\n]*\\r\\n`);
  await until(
    () => {
      if (conn.closedByServer || finalDone.test(conn.text())) return true;
      if (!resent && conn.compressed) {
        resent = true;
        setTimeout(sendFinal, 20);
      }
      return false;
    },
    () => `no answer to the final NOOP; output:\n${conn.text().slice(-2000)}`,
  );
  await tick();
  session.closed();
  await recorder.log.flush?.();
  return { out: Buffer.from(conn.text(), 'latin1'), closed: conn.closedByServer, errors: recorder.errors, thrown };
}

/** Waits for COMPRESS to be answered OK, or for the session to have written nothing new for a while. */
async function settle(conn: FakeConnection): Promise<void> {
  let seen = -1;
  while (conn.text().length !== seen && !conn.closedByServer && !/ OK DEFLATE active\r\n/.test(conn.text())) {
    seen = conn.text().length;
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}

function assertSane(run: Run): ReturnType<typeof readImapOutput> {
  assert.deepEqual(run.thrown, [], 'feed() threw');
  assert.deepEqual(run.errors, [], 'the session logged an error');
  const reading = readImapOutput(run.out, MAX_RESPONSE_LINE);
  assert.deepEqual(reading.problems, [], 'malformed output');
  for (const r of reading.responses) assert.doesNotMatch(r, /SERVERBUG|Internal error/, 'an internal error reached the client');
  if (run.closed) {
    assert.ok(reading.bye, 'the session closed without a BYE');
    assert.match(reading.bye, DOCUMENTED_BYE, 'the session closed for an undocumented reason');
  } else {
    assert.equal(reading.tagged.at(-1)?.tag, FINAL, 'the final NOOP was not the last thing answered');
  }
  return reading;
}

describe('IMAP session under hostile input (fast-check)', () => {
  it('random bytes, split anywhere: no throw, framed output, still answering', async () => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      // Mostly printable with CR, LF, NUL and braces, so some of it frames as commands.
      fc.string({ unit: fc.constantFrom(...'a1 *()[]{}"\\\r\n\0\u00ff+~:,.<>%$'.split(''), 'NOOP', 'LOGIN', 'FETCH', 'SELECT INBOX', '{3}\r\n'), maxLength: 120 }).map((s) =>
        Buffer.from(s, 'latin1'),
      ),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(bytes, { maxLength: 3 }), feedPlan, async (pieces, plan) => {
        const input = Buffer.concat(pieces.map((p) => Buffer.from(p)));
        assertSane(await runImap(splitAt(input, plan.cuts), plan.pauses));
      }),
      { numRuns: 60 },
    );
  });

  it('mostly-valid commands with mutated arguments: exactly one tagged completion each, in order', async () => {
    await fc.assert(
      fc.asyncProperty(wellFramedSession, feedPlan, async (session, plan) => {
        const run = await runImap(splitAt(session.bytes, plan.cuts), plan.pauses);
        const reading = assertSane(run);
        const ours = reading.tagged.filter((t) => t.tag !== FINAL && t.tag !== 'DONE').map((t) => t.tag);
        if (run.closed) {
          // Everything before the BYE was answered, in order, once.
          assert.deepEqual(ours, session.tags.slice(0, ours.length), 'completions out of order or repeated');
        } else {
          assert.deepEqual(ours, session.tags, 'a command was not answered exactly once');
        }
      }),
      { numRuns: 200 },
    );
  });

  it('framing damage (lying literals, CR without LF, stray markers): no throw, framed output, still answering', async () => {
    const damaged = fc
      .tuple(wellFramedSessionWithCompress, framingDamage, framingDamage)
      .map(([{ bytes, tags }, d1, d2]) => ({ bytes: d2(d1(bytes)), tags }));
    await fc.assert(
      fc.asyncProperty(damaged, feedPlan, fc.boolean(), async (session, plan, secure) => {
        const reading = assertSane(await runImap(splitAt(session.bytes, plan.cuts), plan.pauses, { secure }));
        // However the framing broke, no tag is completed twice.
        const counts = new Map<string, number>();
        for (const t of reading.tagged) counts.set(t.tag, (counts.get(t.tag) ?? 0) + 1);
        for (const tag of session.tags) assert.ok((counts.get(tag) ?? 0) <= 1, `tag ${tag} completed twice`);
      }),
      { numRuns: 150 },
    );
  });
});
