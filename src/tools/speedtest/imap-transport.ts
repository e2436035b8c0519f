/**
 * A node:net/node:tls transport for imapflow that times each connection
 * phase. imapflow's own connect() times them as one; its `transport` option
 * lets us open the socket ourselves, so the IMAP figures come from the very
 * session that is measured (no separate probe connection).
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { ImapTransport, ImapTransportConnectOptions, ImapTransportOptions, ImapTransportSocket } from 'imapflow';
import { classifySocketError, type ToolError } from '../errors.js';

export interface TlsPolicy {
  insecure: boolean;
  ca?: string[];
  /** Name the certificate must carry (SNI); undefined for an IP literal. */
  servername?: string;
}

export class TimedTransport implements ImapTransport {
  /** performance.now() marks; null until the phase happened. */
  startedAt = 0;
  tcpAt: number | null = null;
  secureAt: number | null = null;
  greetingAt: number | null = null;
  startTlsAt: number | null = null;
  upgradedAt: number | null = null;
  tlsVersion: string | null = null;
  tlsCipher: string | null = null;
  failure: ToolError | null = null;

  constructor(
    private readonly policy: TlsPolicy,
    private readonly where: string,
  ) {}

  connect(options: ImapTransportConnectOptions, onConnect: () => void): ImapTransportSocket {
    this.startedAt = performance.now();
    let socket: Socket | TLSSocket;
    if (options.secure) {
      const tls = tlsConnect({ host: options.host, port: options.port, ...this.tlsOptions() });
      // A TLSSocket is a net.Socket: 'connect' is the TCP handshake, 'secureConnect' the TLS one.
      tls.once('connect', () => (this.tcpAt = performance.now()));
      tls.once('secureConnect', () => {
        this.secureAt = performance.now();
        this.noteCipher(tls);
        onConnect();
      });
      socket = tls;
    } else {
      socket = netConnect({ host: options.host, port: options.port });
      socket.once('connect', () => {
        this.tcpAt = performance.now();
        onConnect();
      });
    }
    socket.setNoDelay(true);
    this.watch(socket);
    return socket as unknown as ImapTransportSocket;
  }

  prepareUpgrade(): void {
    this.startTlsAt = performance.now();
  }

  upgrade(socket: ImapTransportSocket, _options: ImapTransportOptions, onSecure: () => void): ImapTransportSocket {
    const tls = tlsConnect({ socket: socket as unknown as Socket, ...this.tlsOptions() });
    tls.once('secureConnect', () => {
      this.upgradedAt = performance.now();
      this.noteCipher(tls);
      onSecure();
    });
    this.watch(tls);
    return tls as unknown as ImapTransportSocket;
  }

  private tlsOptions() {
    return {
      servername: this.policy.servername,
      ca: this.policy.ca,
      rejectUnauthorized: !this.policy.insecure,
      minVersion: 'TLSv1.2' as const,
    };
  }

  private noteCipher(tls: TLSSocket): void {
    this.tlsVersion = tls.getProtocol() ?? null;
    const cipher = tls.getCipher();
    this.tlsCipher = cipher ? (cipher.standardName ?? cipher.name) : null;
  }

  private watch(socket: Socket): void {
    socket.on('data', () => {
      const now = performance.now();
      this.greetingAt ??= now;
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.failure ??= classifySocketError(err, this.where);
    });
  }
}
