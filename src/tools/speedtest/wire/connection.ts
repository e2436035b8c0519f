/**
 * The socket under the measuring clients: DNS, TCP, TLS (implicit or a later
 * STARTTLS/STLS upgrade) and COMPRESS=DEFLATE, each timed, with every octet
 * read from the socket counted. TLS policy and error classification are the
 * speed test's (src/tools/errors.ts), so a failure here reads exactly as the
 * tool's other failures do.
 */
import { lookup } from 'node:dns/promises';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { constants as zlibConstants, createDeflateRaw, createInflateRaw, type DeflateRaw, type InflateRaw } from 'node:zlib';
import { classifySocketError, oneLine, ToolError } from '../../errors.js';
import { tlsHandshakeRoundTrips } from '../run-types.js';

export interface WireTarget {
  host: string;
  port: number;
  /** true: TLS from the first octet (RFC 8314); false: plaintext, upgraded with STARTTLS/STLS when offered. */
  implicitTls: boolean;
  /** Without implicit TLS: must the upgrade happen (`true`), or may the session stay in plaintext when it is not offered? */
  requireStartTls?: boolean;
  insecure?: boolean;
  ca?: string[];
  /** Certificate name (SNI); defaults to the host unless it is an address. */
  servername?: string;
  /** How long to wait for the server while a command is outstanding. */
  timeoutMs?: number;
  /** Names the server in error messages, e.g. "IMAP mail.example.com:993". */
  where: string;
}

/** performance.now() marks of the connection phases, and what TLS was agreed. */
export interface ConnectMarks {
  dnsMs: number;
  startedAt: number;
  tcpAt: number;
  /** End of the implicit TLS handshake (= tcpAt without implicit TLS). */
  secureAt: number;
  address: string;
  tlsVersion: string | null;
  tlsCipher: string | null;
  /** STARTTLS/STLS handshake, when one happened (the command's own round trip is not inside). */
  upgradeMs: number;
  upgraded: boolean;
}

/** Octets read from the socket per read: a line or a literal is handed on in pieces of at most this. */
const INFLATE_CHUNK = 64 * 1024;
const DEFAULT_TIMEOUT_MS = 60_000;

/** TCP 1, greeting 1, TLS 1 (1.3) or 2 (1.2) and, after STARTTLS/STLS, the command 1 + its handshake. */
export function connectRoundTrips(marks: ConnectMarks, implicitTls: boolean): number {
  const tls = implicitTls || marks.upgraded ? tlsHandshakeRoundTrips(marks.tlsVersion) : 0;
  return 2 + tls + (marks.upgraded ? 1 : 0);
}

export class WireConnection {
  /** Octets read from the socket (after TLS, before any inflation). */
  octetsIn = 0;
  failure: ToolError | null = null;
  private inflate: InflateRaw | null = null;
  private deflate: DeflateRaw | null = null;
  private waiting = false;

  private constructor(
    private socket: Socket | TLSSocket,
    readonly target: WireTarget,
    readonly marks: ConnectMarks,
    private readonly onData: (chunk: Buffer) => void,
    private readonly onFailure: (err: ToolError) => void,
  ) {
    this.listen(socket);
  }

  /** Resolves the host, opens TCP and, for implicit TLS, completes the handshake; timed phase by phase. */
  static async open(target: WireTarget, onData: (chunk: Buffer) => void, onFailure: (err: ToolError) => void): Promise<WireConnection> {
    const t0 = performance.now();
    let address: string;
    try {
      address = isIP(target.host) ? target.host : (await lookup(target.host)).address;
    } catch (err) {
      throw new ToolError(`${target.where}: host unreachable (cannot resolve: ${(err as NodeJS.ErrnoException).code})`, 'unreachable');
    }
    const startedAt = performance.now();
    const tcp = await settle<Socket>(target, (resolve, reject) => {
      const s = netConnect({ host: address, port: target.port });
      s.once('connect', () => resolve(s));
      s.once('error', reject);
      return s;
    });
    tcp.setNoDelay(true);
    // Under TLS the TLS socket reports the failure; a second 'error' here must not go unheard (it would end the process).
    tcp.on('error', () => {});
    const tcpAt = performance.now();
    const marks: ConnectMarks = { dnsMs: startedAt - t0, startedAt, tcpAt, secureAt: tcpAt, address, tlsVersion: null, tlsCipher: null, upgradeMs: 0, upgraded: false };
    let socket: Socket | TLSSocket = tcp;
    if (target.implicitTls) {
      socket = await handshake(target, tcp);
      marks.secureAt = performance.now();
      noteCipher(marks, socket as TLSSocket);
    }
    // A socket emits no data until a 'data' listener is attached, so a greeting that came early waits for the parser.
    return new WireConnection(socket, target, marks, onData, onFailure);
  }

  /** A command is outstanding: the server must answer within the timeout. */
  set awaiting(on: boolean) {
    if (on === this.waiting) return;
    this.waiting = on;
    this.socket.setTimeout(on ? (this.target.timeoutMs ?? DEFAULT_TIMEOUT_MS) : 0);
  }

  write(data: string | Buffer): void {
    if (this.deflate) {
      this.deflate.write(data);
      // RFC 4978 §4: each command is flushed so the server can act on it at once.
      this.deflate.flush(zlibConstants.Z_SYNC_FLUSH);
    } else this.socket.write(data);
  }

  /**
   * STARTTLS/STLS after the server's OK (RFC 9051 §6.2.1, RFC 2595 §4): octets the server sent
   * after its OK but before the handshake are an injection attempt (CVE-2011-0411), refused.
   */
  async upgrade(leftover: number): Promise<void> {
    if (leftover > 0) throw new ToolError(`${this.target.where}: protocol error: data after the STARTTLS reply`, 'protocol');
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('error');
    plain.removeAllListeners('close');
    plain.removeAllListeners('timeout');
    const t = performance.now();
    const tls = await handshake(this.target, plain);
    this.marks.upgradeMs = performance.now() - t;
    this.marks.upgraded = true;
    noteCipher(this.marks, tls);
    this.socket = tls;
    this.listen(tls);
  }

  /** COMPRESS=DEFLATE from here on, both ways (RFC 4978 §4); `rest` is what followed the OK in the same read. */
  startCompression(rest: Buffer): void {
    this.inflate = createInflateRaw({ chunkSize: INFLATE_CHUNK });
    this.inflate.on('data', (chunk: Buffer) => this.onData(chunk));
    this.inflate.on('error', (err) => this.fail(new ToolError(`${this.target.where}: protocol error: bad DEFLATE stream (${oneLine(err.message)})`, 'protocol')));
    this.deflate = createDeflateRaw();
    this.deflate.on('data', (chunk: Buffer) => this.socket.write(chunk));
    if (rest.length > 0) this.inflate.write(rest);
  }

  get compressed(): boolean {
    return this.inflate !== null;
  }

  close(): void {
    this.socket.destroy();
    this.inflate?.destroy();
    this.deflate?.destroy();
  }

  private listen(socket: Socket): void {
    socket.on('data', (chunk: Buffer) => {
      this.octetsIn += chunk.length;
      if (this.inflate) this.inflate.write(chunk);
      else this.onData(chunk);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      const failure = classifySocketError(err, this.target.where);
      // The server was reached: a connection lost mid-session is a protocol failure, not "unreachable" (as src/tools/errors.ts has it).
      this.fail(
        failure.kind === 'unreachable' ? new ToolError(`${this.target.where}: protocol error: connection lost (${err.code ?? oneLine(err.message)})`, 'protocol') : failure,
      );
    });
    socket.on('close', () => this.fail(new ToolError(`${this.target.where}: protocol error: connection closed by the server`, 'protocol')));
    socket.on('timeout', () => {
      if (this.waiting) {
        this.fail(new ToolError(`${this.target.where}: host unreachable (timed out waiting for the server)`, 'unreachable'));
        socket.destroy();
      }
    });
  }

  private fail(err: ToolError): void {
    if (this.failure) return;
    this.failure = err;
    this.onFailure(err);
  }
}

/** Runs a socket set-up with the target's timeout and classified errors. */
function settle<T>(target: WireTarget, start: (resolve: (v: T) => void, reject: (e: NodeJS.ErrnoException) => void) => Socket): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const socket = start(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (err) => {
        clearTimeout(timer);
        socket.destroy();
        reject(classifySocketError(err, target.where));
      },
    );
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new ToolError(`${target.where}: host unreachable (timed out connecting)`, 'unreachable'));
    }, target.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  });
}

function handshake(target: WireTarget, socket: Socket): Promise<TLSSocket> {
  return settle<TLSSocket>(target, (resolve, reject) => {
    const tls = tlsConnect({
      socket,
      servername: target.servername ?? (isIP(target.host) ? undefined : target.host),
      ca: target.ca,
      rejectUnauthorized: !target.insecure,
      minVersion: 'TLSv1.2',
    });
    tls.once('secureConnect', () => {
      tls.removeAllListeners('error');
      resolve(tls);
    });
    tls.once('error', reject);
    return tls;
  });
}

function noteCipher(marks: ConnectMarks, tls: TLSSocket): void {
  marks.tlsVersion = tls.getProtocol() ?? null;
  const cipher = tls.getCipher();
  marks.tlsCipher = cipher ? (cipher.standardName ?? cipher.name) : null;
}
