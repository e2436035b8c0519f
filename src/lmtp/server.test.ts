/**
 * A failed delivery tells the MTA the class of the failure and nothing of its
 * detail (paths, SQL, exception text); the log gets the detail.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { Readable, Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import type { SMTPServerDataStream, SMTPServerSession } from 'smtp-server';
import { MailDomain } from '../domain/mail-domain.js';
import { LocalBus } from '../notify/bus.js';
import { openSqliteStore } from '../store/sqlite/index.js';
import { StoreError } from '../store/types.js';
import { parseSummary, summaryJson } from '../mail/index.js';
import { createLmtpServer, lmtpReplyFor, type LmtpServer } from './server.js';

const SECRET = 'SQLITE_IOERR: disk I/O error at /var/lib/mailstead/mailstead.db: INSERT INTO messages (blob) VALUES (?)';

/** A logger that keeps every line it writes. */
function capturingLogger() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return { log: pino({ level: 'debug' }, sink), lines };
}

function fakeDomain(failure: unknown): MailDomain {
  return {
    findAccount: async (address: string) => ({ id: 1, address }),
    stageBody: async (chunks: AsyncIterable<Buffer>) => {
      let size = 0;
      for await (const chunk of chunks) size += chunk.length;
      return { staged: { blobId: 'x', size, pop3Size: size }, summary: '' };
    },
    deliverStaged: async () => {
      throw failure;
    },
    releaseBodies: async () => {},
  } as unknown as MailDomain;
}

/** Sends one LMTP transaction with `rcpts` recipients and returns the replies to DATA, one per recipient. */
async function lmtpTransaction(port: number, rcpts: string[]): Promise<string[]> {
  const socket: Socket = connect(port, '127.0.0.1');
  socket.on('error', () => {});
  let text = '';
  let wake = () => {};
  socket.on('data', (d: Buffer) => {
    text += d.toString('utf8');
    wake();
  });
  const until = async (done: () => boolean) => {
    while (!done()) {
      if (socket.destroyed) throw new Error(`closed; got ${text}`);
      await new Promise<void>((resolve) => (wake = resolve));
    }
  };
  await until(() => /^220 .*\r\n/.test(text));
  socket.write('LHLO test\r\n');
  await until(() => /\r\n250 [^\r\n]*\r\n/.test(text));
  socket.write('MAIL FROM:<a@example.org>\r\n');
  for (const r of rcpts) socket.write(`RCPT TO:<${r}>\r\n`);
  socket.write('DATA\r\n');
  await until(() => /\r\n354 [^\r\n]*\r\n/.test(text));
  const mark = text.length;
  socket.write('Subject: hi\r\n\r\nbody\r\n.\r\n');
  const replies = () => text.slice(mark).split('\r\n').slice(0, -1);
  await until(() => replies().length >= rcpts.length);
  socket.destroy();
  return replies();
}

describe('LMTP replies carry no internal error text', () => {
  for (const [name, failure] of [
    ['a plain exception', new Error(SECRET)],
    ['a store error with detail', new StoreError('STORE_UNAVAILABLE', `Mail store unavailable (${SECRET})`)],
  ] as const) {
    describe(`the store fails with ${name}`, () => {
      let lmtp: LmtpServer;
      let port: number;
      const captured = capturingLogger();
      before(async () => {
        lmtp = createLmtpServer({ domain: fakeDomain(failure), log: captured.log, hostname: 'localhost', maxMessageBytes: 1 << 20, maxClients: 10 });
        await new Promise<void>((resolve) => lmtp.server.listen(0, '127.0.0.1', () => resolve()));
        port = (lmtp.server.server.address() as { port: number }).port;
      });
      after(() => lmtp.close());

      test('each recipient gets 451 4.3.0 with a generic text; the log has the detail', async () => {
        const replies = await lmtpTransaction(port, ['a@example.com', 'b@example.com']);
        assert.deepEqual(replies, ['451 4.3.0 Temporary failure, try again later', '451 4.3.0 Temporary failure, try again later']);
        assert.ok(captured.lines.some((l) => l.includes('disk I/O error') && l.includes('"stack"')), 'the log keeps the exception with its stack');
      });
    });
  }

  test('a failure of the whole transaction (reading the message) answers with the class only', async () => {
    const captured = capturingLogger();
    const lmtp = createLmtpServer({ domain: fakeDomain(null), log: captured.log, hostname: 'localhost', maxMessageBytes: 1 << 20, maxClients: 10 });
    const stream = new Readable({
      read() {
        this.destroy(new Error(SECRET));
      },
    }) as unknown as SMTPServerDataStream;
    const session = { envelope: { mailFrom: { address: 'a@example.org' }, rcptTo: [{ address: 'a@example.com' }] } } as unknown as SMTPServerSession;
    const err = await new Promise<Error & { responseCode?: number }>((resolve) =>
      lmtp.server.onData(stream, session, (e) => resolve(e as Error & { responseCode?: number })),
    );
    assert.equal(err.responseCode, 451);
    assert.equal(err.message, 'Temporary failure, try again later');
    assert.ok(captured.lines.some((l) => l.includes('disk I/O error')), 'the log keeps the detail');
    await lmtp.close();
  });

  test('lmtpReplyFor: quota and vanished accounts keep their classes; nothing else passes its text on', () => {
    const wire = (e: unknown) => {
      const r = lmtpReplyFor(e) as Error & { responseCode: number | string };
      return `${r.responseCode} ${r.message}`;
    };
    assert.equal(wire(new StoreError('STORE_OVER_QUOTA', `over quota: ${SECRET}`)), '552 Mailbox is over quota');
    assert.equal(wire(new StoreError('STORE_NO_SUCH_ACCOUNT', `gone: ${SECRET}`)), '550 No such user here');
    assert.equal(wire(new StoreError('STORE_FULL', `disk full: ${SECRET}`)), '452 4.3.1 Mail system full; try again later');
    for (const e of [new Error(SECRET), new TypeError(SECRET), new StoreError('STORE_INVALID_NAME', SECRET), SECRET, null, undefined]) {
      assert.equal(wire(e), '451 Temporary failure, try again later');
    }
  });
});

describe('one LMTP transaction to several recipients', () => {
  test('the summary is computed once for all recipients, and each stores it', async () => {
    const store = await openSqliteStore(':memory:');
    const summarised: number[] = [];
    const domain = new MailDomain(store, new LocalBus(), {
      summaryOfBody: async (size, open) => {
        summarised.push(size);
        const chunks: Buffer[] = [];
        for await (const chunk of (await open())!) chunks.push(chunk);
        return summaryJson(Buffer.concat(chunks));
      },
    });
    const rcpts = ['a@example.com', 'b@example.com', 'c@example.com'];
    for (const r of rcpts) await domain.createAccount(r, 'pw-long-enough', null);
    const lmtp = createLmtpServer({ domain, log: capturingLogger().log, hostname: 'localhost', maxMessageBytes: 1 << 20, maxClients: 10 });
    await new Promise<void>((resolve) => lmtp.server.listen(0, '127.0.0.1', () => resolve()));
    try {
      const port = (lmtp.server.server.address() as { port: number }).port;
      const replies = await lmtpTransaction(port, rcpts);
      assert.equal(replies.length, 3);
      for (const r of replies) assert.match(r, /^250 /);
      assert.equal(summarised.length, 1, 'one summary for the three recipients');
      for (const r of rcpts) {
        const account = (await store.getAccount(r))!;
        const inbox = (await store.listMailboxes(account.id)).find((m) => m.name === 'INBOX')!;
        const [meta] = await store.listMessages(inbox.id);
        const stored = (await store.readSummaries([meta!.blobId])).get(meta!.blobId);
        assert.equal(parseSummary(stored!)?.envelope && (parseSummary(stored!)!.envelope as unknown[])[1], 'hi');
      }
    } finally {
      await lmtp.close();
      await store.close();
    }
  });
});
