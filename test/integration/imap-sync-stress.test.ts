/**
 * Issue 5 stress test, bounded (STRESS_MS or STRESS_OPS, whichever comes
 * first): three imapflow sessions change one mailbox at random — APPEND,
 * flag changes, expunges, MOVE out — while two others IDLE on it (one with
 * QRESYNC, so it is told by VANISHED, one with plain EXPUNGE). Then every
 * session's view must equal the store as a fresh SELECT sees it:
 *
 * - the idlers' message lists, rebuilt only from the untagged EXISTS,
 *   EXPUNGE/VANISHED and FETCH they were sent, hold the right UID at every
 *   sequence number (so every notification carried correct numbers);
 * - for every session, FETCH 1:* (UID FLAGS MODSEQ) by sequence number gives
 *   exactly the fresh session's list, and its EXISTS count is the store's.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ImapFlow } from 'imapflow';
import { addUser, makeMessage, startServer, type TestServer } from '../helpers/server.js';

const USER = 'stress@example.com';
const PASS = 'stress-secret';
const STRESS_MS = 8_000;
const STRESS_OPS = 500;
/** Operations that run however long they take: a loaded machine must not shrink the test to nothing. */
const MIN_OPS = 100;

function client(server: TestServer, qresync: boolean, idle = false): ImapFlow {
  return new ImapFlow({
    // Idlers go into IDLE 50 ms after their last command instead of imapflow's 15 s.
    ...(idle ? { autoIdleDelay: 50 } : {}),
    host: '127.0.0.1',
    port: server.ports.imaps,
    secure: true,
    tls: { ca: [server.certPem], servername: 'localhost' },
    auth: { user: USER, pass: PASS },
    logger: false,
    qresync,
  });
}

/** What an idling client knows, from notifications only: UID per sequence number (0 = not yet known). */
class IdleModel {
  uids: number[] = [];
  errors: string[] = [];
  constructor(readonly c: ImapFlow) {
    c.on('exists', (e: { count: number; prevCount: number }) => {
      if (e.count < this.uids.length) this.errors.push(`EXISTS ${e.count} below ${this.uids.length}`);
      while (this.uids.length < e.count) this.uids.push(0);
    });
    c.on('expunge', (e: { seq?: number; uid?: number; vanished: boolean }) => {
      if (e.vanished) {
        const i = this.uids.indexOf(e.uid!);
        const at = i >= 0 ? i : this.unknownSlot(e.uid!);
        if (at < 0) this.errors.push(`VANISHED ${e.uid} unknown`);
        else this.uids.splice(at, 1);
      } else {
        if (!e.seq || e.seq > this.uids.length) this.errors.push(`EXPUNGE ${e.seq} out of range ${this.uids.length}`);
        else this.uids.splice(e.seq - 1, 1);
      }
    });
    c.on('flags', (f: { seq: number; uid?: number }) => {
      if (!f.uid) return;
      if (f.seq > this.uids.length) this.errors.push(`FETCH ${f.seq} out of range ${this.uids.length}`);
      else if (this.uids[f.seq - 1] === 0) this.uids[f.seq - 1] = f.uid;
      else if (this.uids[f.seq - 1] !== f.uid) this.errors.push(`FETCH ${f.seq} says UID ${f.uid}, model has ${this.uids[f.seq - 1]}`);
    });
  }

  /**
   * A VANISHED UID the client never learnt is one of the unknown (0) entries in
   * the gap between the known UIDs around it (UIDs ascend with sequence
   * numbers); unknown entries in one gap are indistinguishable, so any will do.
   */
  private unknownSlot(uid: number): number {
    let next = this.uids.findIndex((u) => u !== 0 && u > uid);
    if (next < 0) next = this.uids.length;
    for (let j = next - 1; j >= 0 && (this.uids[j] === 0 || this.uids[j] < uid); j--) {
      if (this.uids[j] === 0) return j;
      break;
    }
    return -1;
  }
}

type Row = [number, string, string];

async function rowsBySeq(c: ImapFlow): Promise<Row[]> {
  const rows: Row[] = [];
  if (!c.mailbox || c.mailbox.exists === 0) return rows;
  for await (const m of c.fetch('1:*', { uid: true, flags: true })) {
    rows.push([m.uid, [...m.flags].sort().join(' '), String(m.modseq)]);
  }
  return rows;
}

describe('IMAP sessions under concurrent change', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
    addUser(server.dataDir, USER, PASS);
  });
  after(async () => {
    await server.stop();
    server.cleanup();
  });

  test('every session ends with the store\'s view', { timeout: 600_000 }, async () => {
    const seedClient = client(server, false);
    await seedClient.connect();
    for (let i = 0; i < 30; i++) await seedClient.append('INBOX', makeMessage({ subject: `seed ${i}` }));
    await seedClient.logout();

    const writers = [client(server, true), client(server, false), client(server, false)];
    const idlers = [client(server, true, true), client(server, false, true)];
    for (const c of [...writers, ...idlers]) {
      await c.connect();
      await c.mailboxOpen('INBOX');
    }
    const models = idlers.map((c) => new IdleModel(c));
    for (let i = 0; i < idlers.length; i++) {
      // Learn the UIDs once (the flags events of this FETCH's answers are not notifications, so set them here).
      models[i].uids = (await rowsBySeq(idlers[i])).map((r) => r[0]);
    }
    // Let imapflow enter IDLE (it does so by itself once no command is queued).
    await new Promise((r) => setTimeout(r, 300));

    let ops = 0;
    let maxUid = 30;
    let seed = 11;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const deadline = Date.now() + STRESS_MS;
    const work = writers.map(async (w, n) => {
      while (ops < STRESS_OPS && (ops < MIN_OPS || Date.now() < deadline)) {
        ops++;
        const uid = String(1 + Math.floor(random() * maxUid));
        const r = random();
        if (r < 0.3) {
          const added = await w.append('INBOX', makeMessage({ subject: `w${n} ${ops}` }), random() < 0.5 ? ['\\Seen'] : []);
          if (added && added.uid) maxUid = Math.max(maxUid, added.uid);
        }
        else if (r < 0.65) await w.messageFlagsAdd(uid, [random() < 0.5 ? '\\Flagged' : '$Work'], { uid: true });
        else if (r < 0.8) await w.messageFlagsRemove(uid, ['\\Flagged', '$Work'], { uid: true });
        else if (r < 0.93) await w.messageDelete(uid, { uid: true });
        else await w.messageMove(uid, 'Archive', { uid: true });
      }
    });
    await Promise.all(work);

    // The truth: a fresh session's SELECT.
    const fresh = client(server, false);
    await fresh.connect();
    await fresh.mailboxOpen('INBOX');
    const truth = await rowsBySeq(fresh);
    await fresh.logout();

    // Idlers: a NOOP ends their IDLE; its tagged OK comes after every change made before it was
    // reported (RFC 9051 §6.1.2), so the models are complete then, however slow the machine.
    for (const c of idlers) await c.noop();
    for (const [i, m] of models.entries()) {
      assert.deepEqual(m.errors, [], `idler ${i}: notifications inconsistent`);
      assert.equal(m.uids.length, truth.length, `idler ${i}: EXISTS count`);
      m.uids.forEach((uid, seq) => {
        if (uid !== 0) assert.equal(uid, truth[seq][0], `idler ${i}: UID at sequence number ${seq + 1}`);
      });
    }
    for (const [i, c] of [...writers, ...idlers].entries()) {
      await c.noop();
      assert.equal(c.mailbox && c.mailbox.exists, truth.length, `session ${i}: EXISTS`);
      assert.deepEqual(await rowsBySeq(c), truth, `session ${i}: UID, FLAGS and MODSEQ by sequence number`);
      await c.logout();
    }
  });
});
