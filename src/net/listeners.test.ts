/**
 * Connection accounting across a STARTTLS upgrade: every connection a listener
 * counted is released, and its session leaves the registry, however the
 * connection ends (after a completed handshake, a failed one, or a client that
 * disconnects in the middle of it).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { silentLogger } from '../observability/log.js';
import type { Connection, Session } from '../session/connection.js';
import { closeServer, ConnectionTracker, type RunningListener, startSessionListener } from './listeners.js';
import { loadOrCreateTls, serverTlsOf, type ServerTls } from './tls.js';

/** A minimal line protocol: "STARTTLS" is answered "OK" and upgrades; closed() is observable. */
class UpgradingSession implements Session {
  readonly closedOnce: Promise<void>;
  tlsOutcome: Promise<'secure' | 'failed'> | null = null;
  private markClosed!: () => void;
  private buffered = '';
  closedCalls = 0;

  constructor(private readonly connection: Connection) {
    this.closedOnce = new Promise((resolve) => (this.markClosed = resolve));
    void connection.write('READY\r\n');
  }

  feed(chunk: Buffer): void {
    this.buffered += chunk.toString('latin1');
    if (this.buffered.includes('STARTTLS\r\n')) {
      this.buffered = '';
      this.tlsOutcome = this.connection.write('OK\r\n').then(() =>
        this.connection.startTls().then(
          () => 'secure' as const,
          () => 'failed' as const,
        ),
      );
    } else if (this.buffered.includes('PING\r\n')) {
      this.buffered = '';
      void this.connection.write('PONG\r\n');
    }
  }

  closed(): void {
    this.closedCalls++;
    this.markClosed();
  }

  async shutdown(): Promise<void> {
    this.connection.close();
  }
}

/** Reads from a socket until `pattern` appears. */
function waitFor(socket: Socket, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (d: Buffer) => {
      text += d.toString('latin1');
      if (pattern.test(text)) {
        socket.off('data', onData);
        socket.off('close', onClose);
        resolve(text);
      }
    };
    const onClose = () => reject(new Error(`closed before ${pattern}; got ${JSON.stringify(text)}`));
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}

const closedSocket = (socket: Socket) => new Promise<void>((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve())));

describe('STARTTLS keeps the connection accounting', () => {
  const PER_IP = 2;
  let dir: string;
  let tls: ServerTls;
  let tracker: ConnectionTracker;
  let listener: RunningListener;
  const sessions: UpgradingSession[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mailstead-listeners-'));
    tls = serverTlsOf(await loadOrCreateTls({ dataDir: dir, hostname: 'localhost', log: silentLogger() }), 'TLSv1.2');
    tracker = new ConnectionTracker({ maxConnections: 10, maxConnectionsPerIp: PER_IP });
    listener = await startSessionListener({
      name: 'test',
      address: { host: '127.0.0.1', port: 0 },
      implicitTls: null,
      startTlsContext: tls.context,
      factory: (c) => {
        const s = new UpgradingSession(c);
        sessions.push(s);
        return s;
      },
      refusalLine: 'BUSY\r\n',
      tracker,
      log: silentLogger(),
    });
  });
  after(async () => {
    await closeServer(listener.server);
    rmSync(dir, { recursive: true, force: true });
  });

  /** Opens a plain connection, waits for READY and sends STARTTLS; returns the socket and its session. */
  async function upgradeRequested(): Promise<{ socket: Socket; session: UpgradingSession }> {
    const known = sessions.length;
    const socket = connect(listener.address.port, '127.0.0.1');
    socket.on('error', () => {});
    await waitFor(socket, /READY\r\n/);
    assert.equal(sessions.length, known + 1);
    const ok = waitFor(socket, /OK\r\n/);
    socket.write('STARTTLS\r\n');
    await ok;
    return { socket, session: sessions[known] };
  }

  function assertReleased(): void {
    assert.equal(tracker.count, 0, 'every connection slot is released');
    assert.equal(tracker.sessions.size, 0, 'every session left the registry');
  }

  test('a completed upgrade releases its slot and session when the client closes', async () => {
    for (let i = 0; i < PER_IP * 3; i++) {
      const { socket, session } = await upgradeRequested();
      const secure = tlsConnect({ socket, rejectUnauthorized: false, servername: 'localhost' });
      secure.on('error', () => {});
      await new Promise<void>((resolve) => secure.once('secureConnect', () => resolve()));
      assert.equal(await session.tlsOutcome, 'secure');
      const pong = waitFor(secure, /PONG\r\n/);
      secure.write('PING\r\n');
      await pong;
      secure.end();
      await session.closedOnce;
      assert.equal(session.closedCalls, 1);
      assertReleased();
    }
  });

  test('a failed handshake (plaintext after STARTTLS) releases its slot and session', async () => {
    for (let i = 0; i < PER_IP * 3; i++) {
      const { socket, session } = await upgradeRequested();
      socket.write('this is not a TLS record\r\n');
      assert.equal(await session.tlsOutcome, 'failed');
      await session.closedOnce;
      await closedSocket(socket);
      assertReleased();
    }
  });

  test('a client that disconnects in the middle of the handshake releases its slot; startTls() rejects', async () => {
    for (let i = 0; i < PER_IP * 3; i++) {
      const { socket, session } = await upgradeRequested();
      // The first bytes of a ClientHello record header, then the client vanishes.
      socket.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x40]));
      socket.destroy();
      await session.closedOnce;
      assert.equal(await session.tlsOutcome, 'failed');
      assertReleased();
    }
  });

  test('a new connection is still served after all of it', async () => {
    const socket = connect(listener.address.port, '127.0.0.1');
    socket.on('error', () => {});
    assert.match(await waitFor(socket, /\r\n/), /^READY\r\n/);
    socket.destroy();
  });
});

describe('ConnectionTracker', () => {
  test('a slot is released once, however many times its release is called', () => {
    const tracker = new ConnectionTracker({ maxConnections: 3, maxConnectionsPerIp: 2 });
    const a = tracker.tryAcquire('10.0.0.1');
    const b = tracker.tryAcquire('10.0.0.1');
    assert.ok(a && b);
    assert.equal(tracker.tryAcquire('10.0.0.1'), null, 'per-IP limit');
    const c = tracker.tryAcquire('10.0.0.2');
    assert.ok(c);
    assert.equal(tracker.tryAcquire('10.0.0.3'), null, 'global limit');
    a();
    a();
    assert.equal(tracker.count, 2, 'a repeated release does not free another connection\'s slot');
    assert.ok(tracker.tryAcquire('10.0.0.3'));
    assert.equal(tracker.tryAcquire('10.0.0.1'), null);
  });
});
