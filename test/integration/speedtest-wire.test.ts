/**
 * The speed test's measuring clients (src/tools/speedtest/wire) and probes
 * against the real server: the octets they count are the sizes the server
 * states, compression and pipelining change the wire but not the message
 * octets, failures are classified as the tool's other failures, and every
 * phase of a run carries its CPU time, round trips and wire octets.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ToolError } from '../../src/tools/errors.js';
import { runImap } from '../../src/tools/speedtest/imap-probe.js';
import { runPop3 } from '../../src/tools/speedtest/pop3-probe.js';
import type { PhaseRun, RunResult } from '../../src/tools/speedtest/run-types.js';
import type { Target } from '../../src/tools/speedtest/target.js';
import { MAX_LINE, numberAfter } from '../../src/tools/speedtest/wire/imap-scanner.js';
import { WireImap } from '../../src/tools/speedtest/wire/imap.js';
import { PIPELINE_BATCH, WirePop3 } from '../../src/tools/speedtest/wire/pop3.js';
import { addUser, deliver, makeMessage, startServer, type TestServer } from '../helpers/server.js';

const USER = 'wire@example.com';
const PASSWORD = 'wire-pw';
/** More than one POP3 pipelining batch. */
const MESSAGES = PIPELINE_BATCH + 16;

/** Varied messages: lines that POP3 must dot-stuff, text that looks like literals and tagged replies, and bodies far larger than a read. */
function seedMessage(i: number): string {
  const big = i % 9 === 4 ? `${'0123456789abcdef'.repeat(5).concat('\r\n').repeat(3000)}` : '';
  return (
    `From: Seeder <seed@example.org>\r\nTo: ${USER}\r\nSubject: wire ${i}\r\nMessage-ID: <wire-${i}@example.org>\r\n` +
    `Date: Thu, 26 Nov 2026 10:00:00 +0000\r\n\r\n` +
    `${'.a line that starts with a dot\r\n'.repeat(i % 4)}..two dots\r\nw9 OK {12}\r\n.\r\n${'text '.repeat(i * 7)}\r\n${big}`
  );
}

describe('speed test measuring clients against Mailstead', () => {
  let server: TestServer;
  let tls: { host: string; ca: string[]; servername: string; user: string; password: string };

  before(async () => {
    server = await startServer();
    addUser(server.dataDir, USER, PASSWORD);
    tls = { host: '127.0.0.1', ca: [server.certPem], servername: 'localhost', user: USER, password: PASSWORD };
    const c = await WireImap.connect({ ...tls, port: server.ports.imaps, implicitTls: true, where: 'seed' });
    try {
      for (let i = 0; i < MESSAGES; i++) {
        const m = seedMessage(i);
        // LITERAL+ (RFC 7888): the message follows its size without waiting for a continuation.
        await c.ok(`APPEND INBOX {${Buffer.byteLength(m)}+}\r\n${m}`);
      }
    } finally {
      await c.logout();
    }
  });
  after(async () => {
    await server.stop();
    server.cleanup();
  });

  const imaps = () => ({ ...tls, port: server.ports.imaps, implicitTls: true, where: 'IMAP test' });
  const pop3s = () => ({ ...tls, port: server.ports.pop3s, implicitTls: true, where: 'POP3 test' });

  /** RFC822.SIZE of every message by UID order, from the lean client's listing. */
  async function imapSizes(c: WireImap): Promise<number[]> {
    const sizes: number[] = [];
    const key = Buffer.from('RFC822.SIZE ');
    await c.ok('UID FETCH 1:* (UID RFC822.SIZE)', { untagged: (buf, start, end) => sizes.push(numberAfter(buf, start, end, key)) });
    return sizes;
  }

  async function download(c: WireImap): Promise<{ sizes: number[]; literalOctets: number; wire: number }> {
    const sizes: number[] = [];
    const before = c.octetsIn;
    const r = await c.ok('UID FETCH 1:* BODY.PEEK[]', { literal: (size) => sizes.push(size) });
    return { sizes, literalOctets: r.literalOctets, wire: c.octetsIn - before };
  }

  test('IMAP: each BODY.PEEK[] literal, skipped by length across reads, is as long as RFC822.SIZE says', async () => {
    const c = await WireImap.connect(imaps());
    try {
      await c.ok('EXAMINE INBOX');
      const sizes = await imapSizes(c);
      assert.equal(sizes.length, MESSAGES);
      const got = await download(c);
      assert.deepEqual(got.sizes, sizes);
      assert.equal(got.literalOctets, sizes.reduce((a, b) => a + b, 0));
      assert.ok(got.wire > got.literalOctets, 'the wire carries the literals and the response lines');
      assert.equal(c.compressed, false);

      // Pipelined (RFC 9051 §5.5): one write, one round trip, each reply to its own command.
      const rt = c.roundTrips;
      const [noop, sizesAgain, uids] = await c.pipeline([
        { command: 'NOOP' },
        { command: 'UID FETCH 1:* (RFC822.SIZE)', hooks: { collect: true } },
        { command: 'UID SEARCH ALL', hooks: { collect: true } },
      ]);
      assert.equal(c.roundTrips - rt, 1);
      assert.deepEqual([noop.ok, noop.untagged], [true, 0]);
      assert.equal(sizesAgain.untagged, MESSAGES);
      assert.match(uids.lines[0], /^\* SEARCH 1 2 3 /);
    } finally {
      await c.logout();
    }
  });

  test('IMAP COMPRESS=DEFLATE: the same message octets with fewer octets on the wire', async () => {
    const plain = await WireImap.connect(imaps());
    const packed = await WireImap.connect(imaps());
    try {
      assert.ok(packed.capabilities.has('COMPRESS=DEFLATE'));
      await packed.compress();
      assert.equal(packed.compressed, true);
      for (const c of [plain, packed]) await c.ok('EXAMINE INBOX');
      const a = await download(plain);
      const b = await download(packed);
      assert.deepEqual(b.sizes, a.sizes);
      assert.ok(b.wire < a.wire / 2, `compressed ${b.wire} octets on the wire against ${a.wire}`);
    } finally {
      await plain.logout();
      await packed.logout();
    }
  });

  test('POP3: RETR counts the LIST size of each message (dot-unstuffed), pipelined and one at a time alike', async () => {
    const c = await WirePop3.connect(pop3s());
    try {
      assert.equal(c.pipelining, true);
      const list: number[] = [];
      await c.run({ line: 'LIST', multiline: true, onLine: (t) => list.push(Number(t.split(' ')[1])) });
      assert.equal(list.length, MESSAGES);
      const sequential: Array<[number, number]> = [];
      for (let n = 1; n <= MESSAGES; n++) {
        const r = await c.ok(`RETR ${n}`, true);
        sequential.push([r.messageOctets, r.octets]);
      }
      assert.deepEqual(
        sequential.map(([m]) => m),
        list,
      );
      const rt = c.roundTrips;
      const pipelined: Array<[number, number]> = [];
      await c.pipeline(
        list.map((_, i) => ({ line: `RETR ${i + 1}`, multiline: true })),
        (r) => pipelined.push([r.messageOctets, r.octets]),
      );
      assert.deepEqual(pipelined, sequential);
      assert.equal(c.roundTrips - rt, Math.ceil(MESSAGES / PIPELINE_BATCH));

      // The same sizes as IMAP states for the same messages.
      const imap = await WireImap.connect(imaps());
      try {
        await imap.ok('EXAMINE INBOX');
        assert.deepEqual(await imapSizes(imap), list);
      } finally {
        await imap.logout();
      }
    } finally {
      await c.quit();
    }
  });

  test('STARTTLS and STLS on the plaintext ports: upgraded, the upgrade counted with the connection, not the login', async () => {
    const imap = await WireImap.connect({ ...tls, port: server.ports.imap, implicitTls: false, where: 'IMAP test' });
    const pop3 = await WirePop3.connect({ ...tls, port: server.ports.pop3, implicitTls: false, where: 'POP3 test' });
    try {
      for (const c of [imap, pop3]) {
        assert.equal(c.timings.security, 'starttls');
        assert.ok(c.timings.tlsVersion);
        // TCP + greeting + STARTTLS + the handshake (TLS 1.3: one round trip).
        assert.equal(c.timings.connectRoundTrips, c.timings.tlsVersion === 'TLSv1.3' ? 4 : 5);
        assert.equal(c.timings.authMs, c.login.ms);
      }
      // IMAP: CAPABILITY again after TLS (RFC 9051 §6.2.1), then AUTHENTICATE PLAIN with SASL-IR.
      assert.equal(imap.login.roundTrips, 2);
      // POP3: CAPA before and after STLS (RFC 2595 §4), then AUTH PLAIN with its initial response.
      assert.equal(pop3.login.roundTrips, 3);
    } finally {
      await imap.logout();
      await pop3.quit();
    }
  });

  test('a wrong password is an auth failure and an unverified certificate a TLS failure, named as the tool names them', async () => {
    const fails = async (p: Promise<unknown>, kind: string, pattern: RegExp) => {
      await assert.rejects(p, (err: unknown) => {
        assert.ok(err instanceof ToolError, String(err));
        assert.equal(err.kind, kind);
        assert.match(err.message, pattern);
        return true;
      });
    };
    await fails(WireImap.connect({ ...imaps(), password: 'wrong' }), 'auth', /^IMAP test: authentication failed/);
    await fails(WirePop3.connect({ ...pop3s(), password: 'wrong' }), 'auth', /^POP3 test: authentication failed/);
    await fails(WireImap.connect({ ...imaps(), ca: undefined }), 'tls', /^IMAP test: bad certificate/);
    await fails(WirePop3.connect({ ...pop3s(), ca: undefined }), 'tls', /^POP3 test: bad certificate/);
    await fails(WireImap.connect({ ...imaps(), port: await closedPort() }), 'unreachable', /host unreachable/);
  });

  test('a server line longer than the bound ends the session with a protocol error instead of growing the buffer', async () => {
    for (const greeting of [`* OK ${'x'.repeat(MAX_LINE + 10)}\r\n`, `+OK ${'x'.repeat(MAX_LINE + 10)}\r\n`]) {
      const fake = await listen((socket) => {
        // In pieces, as a slow server would send it.
        for (let i = 0; i < greeting.length; i += 8192) socket.write(greeting.slice(i, i + 8192));
      });
      try {
        const port = (fake.address() as { port: number }).port;
        const target = { host: '127.0.0.1', port, implicitTls: false, where: 'fake' };
        const open = greeting.startsWith('*') ? WireImap.open(target) : WirePop3.open(target);
        await assert.rejects(open, (err: unknown) => err instanceof ToolError && err.kind === 'protocol' && /longer than 65536/.test(err.message));
      } finally {
        fake.close();
      }
    }
  });

  test('a connection the server drops mid-session is a protocol failure, not an unreachable host', async () => {
    const fake = await listen((socket) => {
      socket.write('* OK [CAPABILITY IMAP4rev2] hi\r\n');
      socket.once('data', () => socket.resetAndDestroy());
    });
    try {
      const client = await WireImap.open({ host: '127.0.0.1', port: (fake.address() as { port: number }).port, implicitTls: false, where: 'fake' });
      await assert.rejects(client.ok('NOOP'), (err: unknown) => err instanceof ToolError && err.kind === 'protocol' && /^fake: protocol error: connection (lost|closed)/.test(err.message));
      client.close();
    } finally {
      fake.close();
    }
  });

  describe('probes', () => {
    const options = (protocol: 'imap' | 'pop3', port: number) => ({
      target: { protocol, implicitTls: true, host: '127.0.0.1', port, user: USER, url: `${protocol}s://${USER}@127.0.0.1:${port}` } satisfies Target,
      password: PASSWORD,
      insecure: false,
      ca: [server.certPem],
      servername: 'localhost',
    });
    let added = 0;
    const hooks = {
      progress: () => {},
      addOneMessage: async () => {
        const r = deliver(server.dataDir, USER, makeMessage({ subject: `added ${++added}` }));
        assert.equal(r.status, 0, r.stderr);
        return true;
      },
    };

    const phases = (r: RunResult): Array<[string, PhaseRun | null]> => [
      ['login', r.login],
      ['listing', r.listing],
      ['headerSync', r.headerSync],
      ['headerSyncPipelined', r.headerSyncPipelined],
      ['download', r.download],
      ['downloadPipelined', r.downloadPipelined],
      ['downloadCompressed', r.downloadCompressed],
      ['resync', r.resync],
    ];
    const checkPhase = (name: string, p: PhaseRun) => {
      for (const k of ['ms', 'cpuMs', 'roundTrips', 'wireBytes'] as const) assert.ok(Number.isFinite(p[k]) && p[k] >= 0, `${name}.${k} = ${p[k]}`);
      assert.ok(p.roundTrips >= 1, `${name}: at least one round trip`);
      assert.ok(p.wireBytes > 0, `${name}: octets read`);
    };

    test('IMAP: every phase with CPU time, round trips and octets; headers in one command; download uncompressed, COMPRESS its own row', async () => {
      const before = await flagState();
      const r = await runImap(options('imap', server.ports.imaps), null, hooks);
      for (const [name, p] of phases(r)) if (p) checkPhase(name, p);
      const total = MESSAGES + added - 1;
      assert.equal(r.login.ms, r.authMs);
      assert.equal(r.compression, false);
      assert.equal(r.compressionOffered, true);
      assert.equal(r.pipeliningOffered, true);
      assert.equal(r.connectRoundTrips, r.tlsVersion === 'TLSv1.3' ? 3 : 4);
      assert.equal(r.listing.messages, total);
      assert.equal(r.listing.roundTrips, 2);
      assert.equal(r.headerSync.roundTrips, 1);
      assert.equal(r.headerSync.messages, total);
      assert.equal(r.headerSyncPipelined, null);
      assert.equal(r.download.roundTrips, 1);
      assert.equal(r.download.messages, total);
      assert.equal(r.download.bytes, r.listing.bytes);
      assert.ok(r.download.wireBytes > r.download.bytes, 'uncompressed: the wire carries at least the messages');
      assert.equal(r.downloadPipelined, null);
      assert.ok(r.downloadCompressed);
      assert.equal(r.downloadCompressed.bytes, r.download.bytes);
      assert.ok(r.downloadCompressed.wireBytes < r.download.wireBytes);
      assert.equal(r.downloadCompressed.roundTrips, 1);
      // The resync starts after its login: ENABLE QRESYNC, EXAMINE (QRESYNC ...), the new message's headers.
      assert.deepEqual([r.resync.method, r.resync.newMessages, r.resync.roundTrips], ['qresync', 1, 3]);
      assert.equal(r.latencyMs.length, 10);
      assert.deepEqual((await flagState()).slice(0, before.length), before, 'read-only: no flag changed');
    });

    test('POP3: every phase with CPU time, round trips and octets; a TOP per message, and pipelined in batches', async () => {
      const r = await runPop3(options('pop3', server.ports.pop3s), null, hooks);
      for (const [name, p] of phases(r)) if (p) checkPhase(name, p);
      const total = MESSAGES + added - 1;
      assert.equal(r.login.ms, r.authMs);
      assert.equal(r.compression, false);
      assert.equal(r.compressionOffered, false);
      assert.equal(r.pipeliningOffered, true);
      assert.equal(r.listing.roundTrips, 2);
      assert.equal(r.headerSync.messages, total);
      assert.equal(r.headerSync.roundTrips, total);
      assert.ok(r.headerSyncPipelined);
      assert.equal(r.headerSyncPipelined.messages, total);
      assert.equal(r.headerSyncPipelined.roundTrips, Math.ceil(total / PIPELINE_BATCH));
      assert.equal(r.headerSyncPipelined.wireBytes, r.headerSync.wireBytes);
      assert.equal(r.download.roundTrips, total);
      assert.equal(r.download.bytes, r.listing.bytes);
      assert.ok(r.downloadPipelined);
      assert.deepEqual([r.downloadPipelined.messages, r.downloadPipelined.bytes, r.downloadPipelined.wireBytes], [total, r.download.bytes, r.download.wireBytes]);
      assert.equal(r.downloadPipelined.roundTrips, Math.ceil(total / PIPELINE_BATCH));
      assert.equal(r.downloadCompressed, null);
      // The resync starts after its login: UIDL, then RETR of the one new message.
      assert.deepEqual([r.resync.method, r.resync.newMessages, r.resync.roundTrips], ['uidl-diff', 1, 2]);
    });

    /** Every message's flags, as a returning client would see them. */
    async function flagState(): Promise<string[]> {
      const c = await WireImap.connect(imaps());
      try {
        await c.ok('EXAMINE INBOX');
        return (await c.ok('UID FETCH 1:* (UID FLAGS)', { collect: true })).lines;
      } finally {
        await c.logout();
      }
    }
  });
});

function listen(onConnection: (socket: import('node:net').Socket) => void): Promise<Server> {
  return new Promise((resolve) => {
    const s = createServer(onConnection);
    s.listen(0, '127.0.0.1', () => resolve(s));
  });
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = await listen(() => {});
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}
