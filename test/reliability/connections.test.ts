/**
 * Reliability cases R300-R329: connection floods and limits (10,000 idle
 * connections over many loopback addresses, the per-IP limit, slots that
 * STARTTLS/STLS must give back, handshake-less TLS), and restarts of the
 * server (SIGTERM with sessions in every state, SIGKILL after an
 * acknowledged APPEND, a second server on the same data directory).
 */
import assert from 'node:assert/strict';
import { connect as netConnect } from 'node:net';
import { startServer, type TestServer } from '../helpers/server.js';
import { type AnswerClass, type Case, type Ctx, HOSTILE_CONFIG, message, reliabilitySuite, Wire } from './harness.js';

const MAX_CONNECTIONS = 2000;
const PER_IP = 200;

/** Opens a plain IMAP connection and resolves with 'OK' (greeted), 'BYE+close' (refused) or 'close'. */
function greeting(t: Ctx, from: string, held: Array<{ destroy(): void }>, live: { now: number; max: number }): Promise<AnswerClass> {
  return new Promise((resolve) => {
    const s = netConnect({ host: '127.0.0.1', port: t.ports.imap, localAddress: from });
    held.push(s);
    let text = '';
    let greeted = false;
    s.on('error', () => {});
    s.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (!greeted && text.startsWith('* OK')) {
        greeted = true;
        live.now++;
        live.max = Math.max(live.max, live.now);
        resolve('OK');
      }
    });
    s.on('close', () => {
      if (greeted) live.now--;
      else resolve(text.startsWith('* BYE') ? 'BYE+close' : 'close');
    });
  });
}

async function pool<T>(n: number, width: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await task(i);
      }
    }),
  );
  return out;
}

/** One STARTTLS (IMAP) or STLS (POP3) upgrade from `from`, then a clean close. */
async function upgradeAndLeave(t: Ctx, protocol: 'imap' | 'pop3', from: string): Promise<void> {
  const w = await t.open(protocol, { from });
  if (protocol === 'imap') {
    await w.waitFor(/^\* OK [^\r\n]*\r\n/);
    w.mark();
    await w.send('a STARTTLS\r\n');
    await w.imapAnswer('a');
  } else {
    await w.waitFor(/^\+OK [^\r\n]*\r\n/);
    w.mark();
    await w.send('STLS\r\n');
    await w.popAnswer();
  }
  await w.startTls();
  w.mark();
  await w.send(protocol === 'imap' ? 'z LOGOUT\r\n' : 'QUIT\r\n');
  await w.waitClosed();
}

async function firstReply(t: Ctx, protocol: 'imap' | 'pop3', from: string): Promise<AnswerClass> {
  const w = await t.open(protocol, { from });
  const m = await w.waitUntil(() => /^(\* OK|\* BYE|\+OK|-ERR)[^\r\n]*\r\n/.exec(w.text()), 30_000, 'a greeting');
  w.destroy();
  if (!m) return 'close';
  return ({ '* OK': 'OK', '* BYE': 'BYE+close', '+OK': '+OK', '-ERR': '-ERR+close' } as const)[m[1] as '* OK'];
}

/** A server of its own on `dataDir` (restart cases), with the suite's config. */
function ownServer(dataDir?: string): Promise<TestServer> {
  return startServer({ dataDir, config: HOSTILE_CONFIG });
}

/** Logs in over implicit TLS to a server of its own; returns the wire. */
async function login(server: TestServer, registry: Wire[], account: { address: string; password: string }): Promise<Wire> {
  const { connect } = await import('node:tls');
  const s = connect({ host: '127.0.0.1', port: server.ports.imaps, rejectUnauthorized: false });
  const w = new Wire(s, registry);
  await w.waitFor(/^\* OK [^\r\n]*\r\n/);
  w.mark();
  await w.send(`l LOGIN "${account.address}" "${account.password}"\r\n`);
  assert.equal(await w.imapAnswer('l'), 'OK');
  w.mark();
  return w;
}

async function status(w: Wire, mailbox = 'INBOX'): Promise<Record<string, number>> {
  w.mark();
  await w.send(`st STATUS ${mailbox} (MESSAGES UIDNEXT UIDVALIDITY)\r\n`);
  assert.equal(await w.imapAnswer('st'), 'OK');
  const m = /\* STATUS \S+ \(([^)]*)\)/.exec(w.sinceMark())!;
  const out: Record<string, number> = {};
  const parts = m[1].split(' ');
  for (let i = 0; i < parts.length; i += 2) out[parts[i]] = Number(parts[i + 1]);
  return out;
}

const cases: Case[] = [
  {
    id: 'R300',
    title: '10,000 idle connections from 50 loopback addresses: never more than maxConnections live, the rest refused, a user gets in after',
    sends: '10,000 TCP connects to 143 (127.0.0.10-59, 200 each), never a byte sent',
    expect: ['BYE+close', 'OK'],
    async run(t) {
      const held: Array<{ destroy(): void }> = [];
      const live = { now: 0, max: 0 };
      const results = await pool(10000, 400, (i) => greeting(t, `127.0.0.${10 + (i % 50)}`, held, live));
      const greeted = results.filter((r) => r === 'OK').length;
      const refused = results.filter((r) => r === 'BYE+close').length;
      assert.equal(greeted + refused, 10000, `every connection is greeted or refused (${greeted} + ${refused})`);
      assert.ok(live.max <= MAX_CONNECTIONS, `${live.max} connections were live at once`);
      assert.ok(refused > 0, 'the global limit never refused anyone');
      // While they are held (this suite's unauthenticated timeout is long), a newcomer from a fresh address is refused.
      const during = await firstReply(t, 'imap', t.fresh());
      for (const s of held) s.destroy();
      // Once they are gone, a user gets in again (the slots come back as the server sees the closes).
      const alice = await t.imap({ login: t.users.alice, from: t.fresh() });
      alice.mark();
      await alice.send('n NOOP\r\n');
      return [during, await alice.imapAnswer('n')];
    },
  },
  {
    id: 'R301',
    title: 'the per-IP limit: of 201 connections from one address the 201st gets * BYE and close, a POP3 one -ERR',
    sends: '200 connects to 143 from 127.0.0.70, then one more to 143 and one to 110',
    expect: ['BYE+close', '-ERR+close', 'OK'],
    async run(t) {
      const held: Array<{ destroy(): void }> = [];
      const live = { now: 0, max: 0 };
      const from = '127.0.0.70';
      const first = await pool(PER_IP, 50, () => greeting(t, from, held, live));
      assert.deepEqual(new Set(first), new Set(['OK']));
      const imap = await firstReply(t, 'imap', from);
      const pop = await firstReply(t, 'pop3', from);
      const other = await firstReply(t, 'imap', t.fresh());
      for (const s of held) s.destroy();
      return [imap, pop, other];
    },
  },
  {
    id: 'R302',
    title: 'IMAP STARTTLS gives its connection slot back: after 210 upgraded connections from one address it still gets in',
    sends: '210 × (connect 143, "a STARTTLS\\r\\n", TLS, "z LOGOUT\\r\\n") from 127.0.0.80, then a connect',
    expect: 'OK',
    async run(t) {
      const from = '127.0.0.80';
      await pool(PER_IP + 10, 10, () => upgradeAndLeave(t, 'imap', from));
      return firstReply(t, 'imap', from);
    },
  },
  {
    id: 'R303',
    title: 'POP3 STLS gives its connection slot back: after 210 upgraded connections from one address it still gets in',
    sends: '210 × (connect 110, "STLS\\r\\n", TLS, "QUIT\\r\\n") from 127.0.0.81, then a connect',
    expect: '+OK',
    async run(t) {
      const from = '127.0.0.81';
      await pool(PER_IP + 10, 10, () => upgradeAndLeave(t, 'pop3', from));
      return firstReply(t, 'pop3', from);
    },
  },
  {
    id: 'R304',
    title: "handshake-less clients on 993 count against their address's limit, and give the slots back when they leave",
    sends: '200 TCP connects to 993 from 127.0.0.90 with no ClientHello; a plain connect from the same address; then they leave',
    expect: ['BYE+close', 'OK'],
    async run(t) {
      const from = '127.0.0.90';
      const held = await Promise.all(
        Array.from(
          { length: PER_IP },
          () =>
            new Promise<ReturnType<typeof netConnect>>((resolve) => {
              const s = netConnect({ host: '127.0.0.1', port: t.ports.imaps, localAddress: from }, () => resolve(s));
              s.on('error', () => {});
            }),
        ),
      );
      // The server counts each from its TCP accept, which it sees a little after the client's connect: poll.
      let during: AnswerClass = 'OK';
      for (let i = 0; i < 50 && during === 'OK'; i++) {
        during = await firstReply(t, 'imap', from);
        if (during === 'OK') await new Promise((r) => setTimeout(r, 100));
      }
      for (const s of held) s.destroy();
      // The server sees the closes asynchronously: the next greeting comes once it has.
      let after: AnswerClass = 'BYE+close';
      for (let i = 0; i < 50 && after !== 'OK'; i++) {
        after = await firstReply(t, 'imap', from);
        if (after !== 'OK') await new Promise((r) => setTimeout(r, 100));
      }
      return [during, after];
    },
  },
  // ------------------------------------------------------------ restarts (servers of their own)
  {
    id: 'R305',
    title: 'SIGTERM with sessions in every state: clients told BYE / -ERR, nothing half-stored, POP3 DELE not applied, UIDs kept',
    sends: 'IMAP IDLE, IMAP mid-APPEND literal, POP3 after DELE 1; then SIGTERM and a restart',
    expect: ['BYE+close', 'BYE+close', '-ERR+close', 'OK'],
    skipMemory: true,
    async run() {
      const registry: Wire[] = [];
      const server = await ownServer();
      try {
        const admin = server.initialAccount;
        const { deliver } = await import('../helpers/server.js');
        for (let i = 0; i < 3; i++) assert.equal(deliver(server.dataDir, admin.address, message(`r${i}`)).status, 0);
        const idle = await login(server, registry, admin);
        await idle.send('s SELECT INBOX\r\n');
        await idle.imapAnswer('s');
        const before = await status(idle);
        idle.mark();
        await idle.send('i IDLE\r\n');
        await idle.waitFor(/^\+ [^\r\n]*\r\n/);
        const append = await login(server, registry, admin);
        await append.send('a APPEND INBOX {5000}\r\n');
        await append.waitFor(/(^|\r\n)\+ [^\r\n]*\r\n/);
        await append.send(Buffer.alloc(2000, 'h'));
        const { connect } = await import('node:tls');
        const pop = new Wire(connect({ host: '127.0.0.1', port: server.ports.pop3s, rejectUnauthorized: false }), registry);
        await pop.waitFor(/^\+OK [^\r\n]*\r\n/);
        await pop.send(`USER ${admin.address}\r\nPASS ${admin.password}\r\n`);
        await pop.waitFor(/\+OK Logged in\r\n/);
        pop.mark();
        await pop.send('DELE 1\r\n');
        await pop.waitFor(/^\+OK[^\r\n]*\r\n/);
        pop.mark();
        idle.mark();
        append.mark();
        assert.equal(await server.stop(), 0);
        const classes: AnswerClass[] = [await idle.byeAndClose(), await append.byeAndClose()];
        await pop.waitClosed();
        classes.push(/^-ERR/.test(pop.sinceMark()) ? '-ERR+close' : 'close');
        const again = await ownServer(server.dataDir);
        try {
          const w = await login(again, registry, admin);
          assert.deepEqual(await status(w), before, 'MESSAGES, UIDNEXT or UIDVALIDITY changed across the restart');
          w.mark();
          await w.send('n NOOP\r\n');
          classes.push(await w.imapAnswer('n'));
        } finally {
          await again.stop();
        }
        return classes;
      } finally {
        for (const w of registry) w.destroy();
        await server.kill();
        server.cleanup();
      }
    },
  },
  {
    id: 'R306',
    title: 'SIGKILL right after an acknowledged APPEND: the message is there after restart, byte for byte, UIDVALIDITY kept',
    sends: 'a APPEND INBOX {N}\\r\\n<message>\\r\\n, OK read, SIGKILL, restart, FETCH BODY[]',
    expect: ['OK', 'OK'],
    skipMemory: true,
    async run() {
      const registry: Wire[] = [];
      const server = await ownServer();
      try {
        const admin = server.initialAccount;
        const w = await login(server, registry, admin);
        const msg = Buffer.from(message('durable', `${'d'.repeat(70)}\r\n`.repeat(2000)));
        await w.send(`a APPEND INBOX {${msg.length}}\r\n`);
        await w.waitFor(/(^|\r\n)\+ [^\r\n]*\r\n/);
        w.mark();
        await w.send(Buffer.concat([msg, Buffer.from('\r\n')]));
        const appended = await w.imapAnswer('a');
        const [, uidValidity, uid] = /APPENDUID (\d+) (\d+)/.exec(w.tagged('a'))!;
        await server.kill();
        const again = await ownServer(server.dataDir);
        try {
          const r = await login(again, registry, admin);
          await r.send('s SELECT INBOX\r\n');
          await r.imapAnswer('s');
          assert.match(r.sinceMark(), new RegExp(`UIDVALIDITY ${uidValidity}\\]`));
          r.mark();
          await r.send(`f UID FETCH ${uid} BODY.PEEK[]\r\n`);
          const f = await r.imapAnswer('f');
          const text = r.sinceMark();
          const at = text.indexOf(`{${msg.length}}\r\n`);
          assert.ok(at >= 0, 'BODY[] of the acknowledged message is missing or of another size');
          const start = at + `{${msg.length}}\r\n`.length;
          assert.ok(Buffer.from(text.slice(start, start + msg.length), 'latin1').equals(msg), 'the stored message differs');
          return [appended, f];
        } finally {
          await again.stop();
        }
      } finally {
        for (const w of registry) w.destroy();
        await server.kill();
        server.cleanup();
      }
    },
  },
  {
    id: 'R307',
    title: 'a second server on the same data directory refuses to start (data-dir lock), the first keeps serving',
    sends: 'mailstead serve twice on one data directory',
    expect: ['refused', 'OK'],
    skipMemory: true,
    async run() {
      const registry: Wire[] = [];
      const server = await ownServer();
      try {
        let second: AnswerClass = 'OK';
        try {
          const other = await ownServer(server.dataDir);
          await other.kill();
        } catch (err) {
          assert.match(String(err), /exited with [1-9]/);
          assert.match(String(err), /lock|in use|already/i);
          second = 'refused';
        }
        const w = await login(server, registry, server.initialAccount);
        w.mark();
        await w.send('n NOOP\r\n');
        return [second, await w.imapAnswer('n')];
      } finally {
        for (const w of registry) w.destroy();
        await server.kill();
        server.cleanup();
      }
    },
  },
];

// Idle unauthenticated connections live long here (the longest the config allows), so floods hold their
// slots until the test lets go, however slowly a loaded machine opens 10,000 of them.
reliabilitySuite('reliability: connections and restarts', { users: ['alice'], config: { unauthenticatedTimeoutSeconds: 600 } }, cases);
