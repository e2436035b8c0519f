/**
 * Issue 5 proof: a client goes offline, another device makes 1,000 changes
 * (flag changes, expunges, new mail), and the first reconnects with imapflow's
 * QRESYNC support (RFC 7162 §3.2.5): it receives exactly those changes —
 * VANISHED (EARLIER) for every expunged UID, one FETCH for every message
 * changed or added, nothing for the rest — and ends up with the same mailbox
 * a full resynchronisation gives, for a fraction of the bytes.
 */
import assert from 'node:assert/strict';
import { connect as tlsConnect } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { ImapFlow } from 'imapflow';
import { addUser, makeMessage, startServer, type TestServer } from '../helpers/server.js';

const USER = 'sync@example.com';
const PASS = 'sync-secret';
const BASE = 2000;
const CHANGES = 1000;

function client(server: TestServer, qresync: boolean): ImapFlow {
  return new ImapFlow({
    host: '127.0.0.1',
    port: server.ports.imaps,
    secure: true,
    tls: { ca: [server.certPem], servername: 'localhost' },
    auth: { user: USER, pass: PASS },
    logger: false,
    qresync,
  });
}

/** Seeds the mailbox with one MULTIAPPEND (RFC 3502) of `count` messages over a raw TLS socket. */
async function seed(server: TestServer, count: number): Promise<void> {
  const socket = tlsConnect({ host: '127.0.0.1', port: server.ports.imaps, ca: [server.certPem], servername: 'localhost' });
  let text = '';
  socket.setEncoding('latin1');
  socket.on('data', (t: string) => (text += t));
  const wait = async (re: RegExp) => {
    // Only a hang detector: 2,000 appended messages take minutes beside CPU-burning processes.
    const deadline = Date.now() + 300_000;
    while (!re.test(text)) {
      if (Date.now() > deadline) throw new Error(`timeout waiting for ${re}: ${text.slice(-500)}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  await wait(/^\* OK/);
  socket.write(`a LOGIN ${USER} ${PASS}\r\n`);
  await wait(/a OK/);
  const parts = ['b APPEND INBOX'];
  for (let i = 0; i < count; i++) {
    const m = Buffer.from(makeMessage({ subject: `base ${i}`, body: `message ${i}` }), 'latin1');
    parts.push(` {${m.length}+}\r\n${m.toString('latin1')}`);
  }
  socket.write(parts.join('') + '\r\n');
  await wait(/b (OK|NO|BAD)[^\r]*\r\n/);
  assert.match(text, /b OK/);
  socket.end('c LOGOUT\r\n');
}

/** mulberry32: the same "random" changes on every run. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('QRESYNC resynchronisation with imapflow', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
    addUser(server.dataDir, USER, PASS);
    await seed(server, BASE);
  });
  after(async () => {
    await server.stop();
    server.cleanup();
  });

  test(`a client offline during ${CHANGES} changes gets exactly those changes back`, { timeout: 120_000 }, async () => {
    // 1. The phone syncs, remembers UIDVALIDITY, HIGHESTMODSEQ and the mailbox, and goes offline.
    const phone = client(server, true);
    await phone.connect();
    const opened = await phone.mailboxOpen('INBOX');
    assert.ok(phone.enabled.has('QRESYNC'), 'imapflow enabled QRESYNC');
    const uidValidity = opened.uidValidity;
    const highestModseq = opened.highestModseq;
    assert.ok(highestModseq && highestModseq > 0n, 'HIGHESTMODSEQ announced');
    const model = new Map<number, Set<string>>();
    for await (const m of phone.fetch('1:*', { uid: true, flags: true })) model.set(m.uid, new Set(m.flags));
    assert.equal(model.size, BASE);
    await phone.logout();

    // 2. The laptop makes 1,000 changes: flag toggles, expunges and new messages.
    const laptop = client(server, false);
    await laptop.connect();
    await laptop.mailboxOpen('INBOX');
    const random = rng(5);
    const live = [...model.keys()];
    const flagged = new Set<number>();
    const changed = new Set<number>();
    const expunged = new Set<number>();
    const appended = new Set<number>();
    for (let i = 0; i < CHANGES; i++) {
      const kind = i % 5;
      if (kind <= 2) {
        const uid = live[Math.floor(random() * live.length)];
        if (flagged.delete(uid)) await laptop.messageFlagsRemove(String(uid), ['\\Flagged'], { uid: true });
        else {
          flagged.add(uid);
          await laptop.messageFlagsAdd(String(uid), ['\\Flagged'], { uid: true });
        }
        changed.add(uid);
      } else if (kind === 3) {
        const [uid] = live.splice(Math.floor(random() * live.length), 1);
        assert.ok(await laptop.messageDelete(String(uid), { uid: true }));
        expunged.add(uid);
        flagged.delete(uid);
      } else {
        const r = await laptop.append('INBOX', makeMessage({ subject: `new ${i}` }));
        assert.ok(r && r.uid);
        appended.add(r.uid);
        live.push(r.uid);
      }
    }
    await laptop.logout();

    // 3. The phone reconnects with SELECT (QRESYNC (uidvalidity modseq)).
    const back = client(server, true);
    const vanished = new Set<number>();
    const updates = new Map<number, string[]>();
    back.on('expunge', (e: { uid?: number; vanished: boolean; earlier?: boolean }) => {
      assert.ok(e.vanished && e.earlier && e.uid, `expected VANISHED (EARLIER), got ${JSON.stringify(e)}`);
      vanished.add(e.uid);
    });
    back.on('flags', (f: { uid?: number; flags: Set<string>; modseq?: bigint }) => {
      assert.ok(f.uid && f.modseq && f.modseq > highestModseq!, `FETCH with UID and a newer MODSEQ: ${JSON.stringify(f.uid)}`);
      assert.ok(!updates.has(f.uid), `UID ${f.uid} reported twice`);
      updates.set(f.uid, [...f.flags]);
    });
    await back.connect();
    back.stats(true);
    await back.mailboxOpen('INBOX', { uidValidity, changedSince: highestModseq });
    const qresyncBytes = back.stats().received;
    await back.logout();

    const sorted = (s: Iterable<number>) => [...s].sort((a, b) => a - b);
    assert.deepEqual(sorted(vanished), sorted(expunged), 'VANISHED (EARLIER) names exactly the expunged UIDs');
    const expectUpdated = new Set([...changed, ...appended].filter((uid) => !expunged.has(uid)));
    assert.deepEqual(sorted(updates.keys()), sorted(expectUpdated), 'FETCH for exactly the changed and new messages');

    for (const uid of vanished) model.delete(uid);
    for (const [uid, flags] of updates) model.set(uid, new Set(flags));

    // 4. A full resynchronisation (no QRESYNC) must give the same mailbox, for many more bytes.
    const full = client(server, false);
    await full.connect();
    full.stats(true);
    await full.mailboxOpen('INBOX');
    const truth = new Map<number, Set<string>>();
    for await (const m of full.fetch('1:*', { uid: true, flags: true })) truth.set(m.uid, new Set(m.flags));
    const fullBytes = full.stats().received;
    await full.logout();
    const asList = (m: Map<number, Set<string>>) => sorted(m.keys()).map((uid) => [uid, [...m.get(uid)!].sort().join(' ')]);
    assert.deepEqual(asList(model), asList(truth));
    assert.equal(truth.size, BASE + appended.size - expunged.size);
    assert.ok(qresyncBytes * 2 < fullBytes, `QRESYNC ${qresyncBytes} bytes vs full ${fullBytes} bytes`);
    console.log(`# resync after ${CHANGES} changes to ${BASE} messages: QRESYNC ${qresyncBytes} bytes, full ${fullBytes} bytes`);
  });
});
