/**
 * Streams, not buffers (issue 11), measured: SEARCH BODY and FETCH BINARY of
 * a 20 MB message on the file store keep the server's live memory far below
 * the message size. The session runs in this process, so the live heap and
 * Buffers are measured directly: at every turn of the event loop while a
 * command runs, after a forced collection (a held copy of the message shows;
 * chunks already dropped do not).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { MailDomain } from '../../src/domain/mail-domain.js';
import { createImapSession } from '../../src/imap/session.js';
import { LocalBus } from '../../src/notify/bus.js';
import { testImapContext } from '../../src/imap/harness.test.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import type { MailStore } from '../../src/store/types.js';
import { FakeConnection } from '../helpers/fake-connection.js';

v8.setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const MB = 1024 * 1024;
const USER = 'big@example.com';
const PASS = 'big password';

/** Keeps what a client would read as lines; literal data (large writes) is only counted, as a streaming client would. */
class CountingConnection extends FakeConnection {
  literalOctets = 0;

  override async write(data: string | Buffer): Promise<void> {
    const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data, 'utf8');
    if (bytes.length > 4096) {
      this.literalOctets += bytes.length;
      return;
    }
    return super.write(bytes);
  }
}

function liveBytes(): number {
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/**
 * How far live memory rose above where it was before `work`, sampled every few turns of the event loop
 * (a collection each time: every turn would make the test slow, and a held copy lasts many turns).
 */
async function growthDuring(work: () => Promise<unknown>): Promise<number> {
  const base = liveBytes();
  let peak = base;
  let running = true;
  let turn = 0;
  const sample = () => {
    if (turn++ % 4 === 0) peak = Math.max(peak, liveBytes());
    if (running) setImmediate(sample);
  };
  setImmediate(sample);
  try {
    await work();
  } finally {
    running = false;
  }
  return peak - base;
}

/** A text part with the needle at its very end and a binary part, base64 both: about 20 MB stored. */
function bigMessage(): Buffer {
  const text = Buffer.alloc(10 * MB, 'a line of searchable text that goes on and on, ');
  text.write(' the needle', text.length - 11);
  const binary = Buffer.alloc(4 * MB);
  for (let i = 0; i < binary.length; i++) binary[i] = (i * 7 + (i >> 10)) & 0xff;
  const b64 = (b: Buffer) => b.toString('base64').replace(/.{76}/g, '$&\r\n');
  return Buffer.from(
    [
      'From: a@example.org',
      'Subject: twenty megabytes',
      'Content-Type: multipart/mixed; boundary="b"',
      '',
      '--b',
      'Content-Type: text/plain; charset=us-ascii',
      'Content-Transfer-Encoding: base64',
      '',
      b64(text),
      '--b',
      'Content-Type: application/octet-stream',
      'Content-Transfer-Encoding: base64',
      '',
      b64(binary),
      '--b--',
      '',
    ].join('\r\n'),
    'latin1',
  );
}

describe('a 20 MB message is searched and decoded as streams', () => {
  let dir: string;
  let store: MailStore;
  let conn: CountingConnection;
  let n = 0;
  const cmd = async (text: string): Promise<string> => {
    const tag = `m${++n}`;
    conn.take();
    conn.send(`${tag} ${text}\r\n`);
    await conn.waitFor(new RegExp(`(^|\\r\\n)${tag} (OK|NO|BAD)[^\\r]*\\r\\n`), 600_000);
    return conn.take();
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mailstead-streamed-'));
    store = await openSqliteStore(join(dir, 'mailstead.db'), { thread: 'main' });
    const domain = new MailDomain(store, new LocalBus());
    await domain.createAccount(USER, PASS, null);
    await domain.deliver(USER, bigMessage());
    conn = new CountingConnection({ secure: true });
    conn.session = createImapSession(conn, { ...testImapContext(domain), maxMessageBytes: 64 * MB });
    await conn.waitFor('Mailstead ready\r\n');
    assert.match(await cmd(`LOGIN ${USER} "${PASS}"`), / OK /);
    assert.match(await cmd('SELECT INBOX'), / OK /);
  });
  after(async () => {
    conn.session?.closed();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('SEARCH BODY with the needle at the end of 10 MB of text', async () => {
    let reply = '';
    const growth = await growthDuring(async () => (reply = await cmd('SEARCH BODY "the needle"')));
    console.log(`SEARCH BODY: live memory grew by ${(growth / MB).toFixed(1)} MB`);
    assert.ok(growth < 5 * MB, `live memory grew by ${(growth / MB).toFixed(1)} MB`);
    assert.match(reply, /\* SEARCH 1\r\n/);
  });

  it('FETCH BINARY.SIZE[1], BINARY[1], BINARY[2]<o.n> and BINARY[] without holding a part', async () => {
    let reply = '';
    conn.literalOctets = 0;
    const growth = await growthDuring(async () => (reply = await cmd('FETCH 1 (BINARY.SIZE[1] BINARY.PEEK[1] BINARY.PEEK[2]<1000.2000000> BINARY.PEEK[])')));
    console.log(`FETCH BINARY: live memory grew by ${(growth / MB).toFixed(1)} MB`);
    assert.ok(growth < 5 * MB, `live memory grew by ${(growth / MB).toFixed(1)} MB`);
    assert.match(reply, new RegExp(`BINARY.SIZE\\[1\\] ${10 * MB} BINARY\\[1\\] \\{${10 * MB}\\}`));
    assert.match(reply, /BINARY\[2\]<1000> ~\{2000000\}/);
    assert.ok(conn.literalOctets > 10 * MB + 2_000_000 + 18 * MB, `${conn.literalOctets} literal octets`);
  });
});
