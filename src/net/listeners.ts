/**
 * TCP and implicit-TLS listeners for the session protocols (IMAP, POP3).
 * Enforces the global and per-IP connection limits and keeps the set of live
 * sessions so that shutdown can say goodbye to each.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type SecureContext } from 'node:tls';
import type { ServerTls } from './tls.js';
import type { ListenAddress } from '../config/schema.js';
import type { Logger } from '../observability/log.js';
import { connectionOpened } from '../observability/metrics.js';
import type { Session, SessionFactory } from '../session/connection.js';
import { SocketConnection } from './socket-connection.js';

export interface ConnectionLimits {
  maxConnections: number;
  maxConnectionsPerIp: number;
}

/** Counts connections across all listeners of a node. */
export class ConnectionTracker {
  private total = 0;
  private readonly perIp = new Map<string, number>();
  readonly sessions = new Set<Session>();

  constructor(private readonly limits: ConnectionLimits) {}

  /**
   * Takes a slot for a connection from `ip`; null when a limit is reached. The returned
   * function gives the slot back; calling it again does nothing, so a connection that
   * reports its end twice cannot free another connection's slot.
   */
  tryAcquire(ip: string): (() => void) | null {
    const n = this.perIp.get(ip) ?? 0;
    if (this.total >= this.limits.maxConnections || n >= this.limits.maxConnectionsPerIp) return null;
    this.total++;
    this.perIp.set(ip, n + 1);
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.release(ip);
    };
  }

  private release(ip: string): void {
    this.total--;
    const n = (this.perIp.get(ip) ?? 1) - 1;
    if (n <= 0) this.perIp.delete(ip);
    else this.perIp.set(ip, n);
  }

  get count(): number {
    return this.total;
  }
}

export interface SessionListenerOptions {
  name: string;
  address: ListenAddress;
  /** Implicit TLS (imaps, pop3s) when set. */
  implicitTls: ServerTls | null;
  /** For STARTTLS/STLS on a plain listener; null when no certificate. */
  startTlsContext: SecureContext | null;
  factory: SessionFactory;
  /** The line written to a connection refused for the connection limits, e.g. "* BYE Too many connections\r\n". */
  refusalLine: string;
  tracker: ConnectionTracker;
  log: Logger;
  /** Implicit TLS: a client that has not finished its handshake by then is cut off (default 30 s). */
  handshakeTimeoutMs?: number;
}

export interface RunningListener {
  name: string;
  address: ListenAddress;
  server: Server;
}

export function startSessionListener(opts: SessionListenerOptions): Promise<RunningListener> {
  const ipOf = (socket: Socket) => (socket.remoteAddress ?? 'unknown').replace(/^::ffff:/, '');
  /**
   * Implicit TLS: connections are counted from the TCP accept, not from the end of the handshake,
   * so clients that connect and never handshake cannot pile up beyond the limits. One over the
   * limit is told so (in TLS) once its handshake is done; these are its "ip:port" keys.
   */
  const refusedTls = new Set<string>();
  const keyOf = (socket: Socket) => `${socket.remoteAddress}:${socket.remotePort}`;
  const refuse = (socket: Socket) => {
    opts.log.warn({ protocol: opts.name, ip: ipOf(socket) }, 'connection refused: too many connections');
    socket.end(opts.refusalLine);
    socket.on('error', () => {});
  };
  const onSocket = (socket: Socket) => {
    let release: (() => void) | null = null;
    if (opts.implicitTls) {
      // Counted at the TCP accept (below), released when that TCP socket closes.
      if (refusedTls.has(keyOf(socket))) return refuse(socket);
    } else {
      release = opts.tracker.tryAcquire(ipOf(socket));
      if (!release) return refuse(socket);
    }
    const connection = new SocketConnection(socket, opts.implicitTls?.context ?? opts.startTlsContext, opts.log);
    // The connection reports its own end once, whether it is still the plain socket or the TLS
    // socket that STARTTLS/STLS put over it: slots and the registry never depend on which.
    if (release) connection.onClose(release);
    connection.onClose(connectionOpened(opts.name.startsWith('imap') ? 'imap' : 'pop3'));
    let session: Session;
    try {
      session = opts.factory(connection);
    } catch (err) {
      opts.log.error({ err, protocol: opts.name }, 'could not start a session');
      socket.destroy();
      return;
    }
    connection.attach(session);
    opts.tracker.sessions.add(session);
    connection.onClose(() => opts.tracker.sessions.delete(session));
  };

  const server = opts.implicitTls
    ? createTlsServer({ ...opts.implicitTls.options, handshakeTimeout: opts.handshakeTimeoutMs ?? 30_000 }, onSocket)
    : createServer(onSocket);
  if (opts.implicitTls) {
    server.on('connection', (raw: Socket) => {
      const release = opts.tracker.tryAcquire(ipOf(raw));
      if (release) {
        raw.once('close', release);
        return;
      }
      const key = keyOf(raw);
      refusedTls.add(key);
      raw.once('close', () => refusedTls.delete(key));
    });
    // A failed handshake (a plaintext client on 993, an old TLS version) is the client's problem, not ours.
    // Node leaves the socket open once a 'tlsClientError' listener exists, even after its own handshake
    // timeout: without destroy() a client that never handshakes would hold its connection forever.
    server.on('tlsClientError', (err, socket) => {
      opts.log.debug({ protocol: opts.name, err: err.message }, 'TLS handshake failed');
      socket.destroy();
    });
  }
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.address.port, opts.address.host, () => {
      server.off('error', reject);
      const bound = server.address();
      const port = typeof bound === 'object' && bound ? bound.port : opts.address.port;
      resolve({ name: opts.name, address: { host: opts.address.host, port }, server });
    });
  });
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
