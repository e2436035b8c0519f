/**
 * Adapts a TCP or TLS socket to the `Connection` port a session writes to:
 * backpressure on writes, an inactivity timer that only incoming bytes reset
 * (our own keepalives must not keep a dead client's session alive), in-place
 * TLS upgrade for STARTTLS/STLS, COMPRESS=DEFLATE (RFC 4978), and exactly one
 * `closed()` call.
 */
import type { Socket } from 'node:net';
import { type SecureContext, TLSSocket } from 'node:tls';
import { constants as zlibConstants, createDeflateRaw, createInflateRaw, type DeflateRaw, type InflateRaw } from 'node:zlib';
import type { Logger } from '../observability/log.js';
import type { Connection, Session } from '../session/connection.js';

/** A TLS handshake that has not finished by then is abandoned (slowloris on the handshake). */
const TLS_HANDSHAKE_TIMEOUT_MS = 30_000;
/** After `close()`, a peer that does not read its last bytes is cut off. */
const CLOSE_GRACE_MS = 5_000;

export class SocketConnection implements Connection {
  readonly remoteAddress: string;
  secure: boolean;
  tlsInfo: string | null = null;
  private socket: Socket;
  private session: Session | null = null;
  private closedNotified = false;
  /** Listeners of `onClose`: the owner's accounting (slots, session registry), run once after `session.closed()`. */
  private readonly closeListeners: Array<() => void> = [];
  private closing = false;
  private idleMs = 0;
  private onIdle: (() => void) | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private lastActivity = Date.now();
  /** Set once COMPRESS=DEFLATE is on: writes go through `deflate`, socket bytes through `inflate`. */
  private deflate: DeflateRaw | null = null;
  private inflate: InflateRaw | null = null;
  private readonly onData = (chunk: Buffer) => {
    this.lastActivity = Date.now();
    if (this.inflate) {
      this.inflate.write(chunk);
      return;
    }
    this.feedSession(chunk);
  };

  private feedSession(chunk: Buffer): void {
    try {
      this.session?.feed(chunk);
    } catch (err) {
      // A session bug must never take the process down: log and drop this connection only.
      this.log.error({ err }, 'session failed on input; closing the connection');
      this.destroy();
    }
  }

  constructor(
    socket: Socket,
    private readonly secureContext: SecureContext | null,
    private readonly log: Logger,
  ) {
    this.socket = socket;
    this.remoteAddress = normaliseAddress(socket.remoteAddress ?? 'unknown');
    this.secure = socket instanceof TLSSocket && socket.encrypted === true;
    if (this.secure) this.tlsInfo = describeTls(socket as TLSSocket);
    socket.setNoDelay(true);
    this.listen(socket);
  }

  attach(session: Session): void {
    this.session = session;
  }

  /**
   * Runs `listener` once when this connection ends, whichever socket carries it
   * by then (the plain one, or the TLS one after STARTTLS/STLS). The owner hangs
   * its per-connection accounting here, never on a socket that an upgrade replaces.
   */
  onClose(listener: () => void): void {
    if (this.closedNotified) listener();
    else this.closeListeners.push(listener);
  }

  private readonly onSocketError = (err: Error) => this.log.debug({ err: err.message }, 'socket error');
  private readonly onSocketClose = () => this.notifyClosed();

  private listen(socket: Socket): void {
    socket.on('data', this.onData);
    socket.on('error', this.onSocketError);
    socket.on('close', this.onSocketClose);
  }

  private notifyClosed(): void {
    if (this.closedNotified) return;
    this.closedNotified = true;
    this.clearIdleTimer();
    try {
      this.session?.closed();
    } catch (err) {
      this.log.error({ err }, 'session failed while closing');
    }
    for (const listener of this.closeListeners.splice(0)) {
      try {
        listener();
      } catch (err) {
        this.log.error({ err }, 'connection close listener failed');
      }
    }
  }

  write(data: string | Buffer): Promise<void> {
    const socket = this.socket;
    if (socket.destroyed || this.closedNotified) return Promise.resolve();
    const deflate = this.deflate;
    if (deflate) {
      // RFC 4978 §4: flush after each response so the client never waits for bytes stuck in the compressor.
      return new Promise<void>((resolve) => {
        deflate.write(data);
        deflate.flush(zlibConstants.Z_SYNC_FLUSH, () => this.drained(socket).then(resolve));
      });
    }
    return new Promise<void>((resolve) => {
      if (socket.write(data)) return resolve();
      void this.drained(socket).then(resolve);
    });
  }

  /** Resolves once the socket's buffer is below its high-water mark (or the socket is gone). */
  private drained(socket: Socket): Promise<void> {
    if (!socket.writableNeedDrain || socket.destroyed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        socket.off('drain', done);
        socket.off('close', done);
        resolve();
      };
      socket.on('drain', done);
      socket.on('close', done);
    });
  }

  startCompression(): void {
    if (this.deflate) throw new Error('compression is already active');
    const socket = this.socket;
    const deflate = createDeflateRaw();
    const inflate = createInflateRaw();
    deflate.on('data', (chunk: Buffer) => {
      if (!socket.destroyed) socket.write(chunk);
    });
    inflate.on('data', (chunk: Buffer) => this.feedSession(chunk));
    const failed = (err: Error) => {
      // Undecodable input (or a zlib failure) cannot be resynchronised: the connection ends.
      this.log.info({ err: err.message }, 'deflate stream failed; closing the connection');
      this.destroy();
    };
    deflate.on('error', failed);
    inflate.on('error', failed);
    socket.once('close', () => {
      deflate.destroy();
      inflate.destroy();
    });
    this.deflate = deflate;
    this.inflate = inflate;
  }

  startTls(): Promise<void> {
    if (!this.secureContext) return Promise.reject(new Error('TLS is not configured'));
    if (this.secure) return Promise.reject(new Error('TLS is already active'));
    const plain = this.socket;
    // Only the bytes move to the TLS socket. Every other listener stays on the plain socket: ours
    // (its close or error ends this connection, once, whichever socket reports it first) and the
    // owner's. Removing every 'close' listener here once leaked a connection slot and a session
    // per STARTTLS (issue 9).
    plain.off('data', this.onData);
    return new Promise<void>((resolve, reject) => {
      const tlsSocket = new TLSSocket(plain, { isServer: true, secureContext: this.secureContext! });
      const timer = setTimeout(() => tlsSocket.destroy(new Error('TLS handshake timed out')), TLS_HANDSHAKE_TIMEOUT_MS);
      this.socket = tlsSocket;
      const settle = (err: Error | null) => {
        clearTimeout(timer);
        tlsSocket.off('secure', onSecure);
        tlsSocket.off('error', onError);
        tlsSocket.off('close', onClose);
        if (err) reject(err);
        else resolve();
      };
      const onSecure = () => {
        this.secure = true;
        this.tlsInfo = describeTls(tlsSocket);
        settle(null);
      };
      const onError = (err: Error) => {
        // A failed handshake leaves nothing to talk to: the connection ends (and reports its close once).
        tlsSocket.destroy();
        settle(err);
      };
      // A client that vanishes mid-handshake may close without any 'error': the caller must still hear of it.
      const onClose = () => settle(new Error('connection closed during the TLS handshake'));
      tlsSocket.once('secure', onSecure);
      tlsSocket.once('error', onError);
      tlsSocket.once('close', onClose);
      this.listen(tlsSocket);
      // The plain socket may have closed already (the peer left before the upgrade began).
      if (plain.destroyed) tlsSocket.destroy();
    });
  }

  pause(): void {
    this.socket.pause();
    this.inflate?.pause();
  }

  resume(): void {
    this.socket.resume();
    this.inflate?.resume();
  }

  setIdleTimeout(ms: number, onTimeout: () => void): void {
    this.idleMs = ms;
    this.onIdle = ms > 0 ? onTimeout : null;
    this.lastActivity = Date.now();
    this.clearIdleTimer();
    if (ms > 0) this.armIdleTimer(ms);
  }

  /** One timer per connection, re-armed for the remaining time, instead of a new timer per chunk. */
  private armIdleTimer(delay: number): void {
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      const idleFor = Date.now() - this.lastActivity;
      if (idleFor >= this.idleMs) {
        this.onIdle?.();
      } else if (this.idleMs > 0) {
        this.armIdleTimer(this.idleMs - idleFor);
      }
    }, delay);
    this.idleTimer.unref();
  }

  private clearIdleTimer(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }

  close(): void {
    if (this.closing) return;
    this.closing = true;
    this.clearIdleTimer();
    const socket = this.socket;
    socket.end();
    setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

function describeTls(socket: TLSSocket): string {
  const cipher = socket.getCipher();
  return `${socket.getProtocol() ?? 'TLS'} ${cipher?.standardName ?? cipher?.name ?? ''}`.trim();
}

/** "::ffff:127.0.0.1" -> "127.0.0.1", so loopback checks and per-IP limits see one address. */
function normaliseAddress(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

export function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}
