/**
 * A small, byte-exact POP3 client for the client tools (speed test, archive):
 * implicit TLS (pop3s), STLS, or plaintext; USER/PASS or AUTH PLAIN; every
 * RFC 1939 command. npm's POP3 clients corrupt messages (see
 * shared/DEPENDENCIES.md), so we use our own codec. Connection phases are timed
 * separately for the speed test.
 */
import { lookup } from 'node:dns/promises';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { Pop3ResponseReader, type Pop3StatusLine } from '../../protocol/pop3/response-reader.js';
import { encodePlain } from '../../protocol/sasl/plain.js';

export interface Pop3ConnectOptions {
  host: string;
  port: number;
  /** 'tls' = implicit TLS (995), 'starttls' = STLS on a plain port, 'plain' = no TLS at all. */
  security: 'tls' | 'starttls' | 'plain';
  /** Accept a certificate that does not verify (self-signed). */
  insecure?: boolean;
  /** Extra CA certificates (PEM). */
  ca?: string[];
  /** Name to verify the certificate against; defaults to host. */
  servername?: string;
  timeoutMs?: number;
}

export interface ConnectTimings {
  dnsMs: number;
  tcpMs: number;
  tlsMs: number;
  greetingMs: number;
  tlsVersion: string | null;
  tlsCipher: string | null;
  address: string;
}

export class Pop3Error extends Error {
  constructor(
    message: string,
    readonly kind: 'protocol' | 'auth' | 'connect' | 'tls' | 'timeout' | 'capability' = 'protocol',
    readonly serverText?: string,
  ) {
    super(message);
    this.name = 'Pop3Error';
  }
}

export interface UidlEntry {
  number: number;
  uidl: string;
}

export class Pop3Client {
  private socket: Socket | TLSSocket | null = null;
  private readonly reader = new Pop3ResponseReader();
  private waiter: (() => void) | null = null;
  private failure: Error | null = null;
  timings: ConnectTimings | null = null;
  capabilities: string[] = [];

  constructor(private readonly opts: Pop3ConnectOptions) {}

  async connect(): Promise<ConnectTimings> {
    const t0 = performance.now();
    let address: string;
    try {
      address = (await lookup(this.opts.host)).address;
    } catch (err) {
      throw new Pop3Error(`cannot resolve ${this.opts.host}: ${(err as NodeJS.ErrnoException).code}`, 'connect');
    }
    const t1 = performance.now();
    const raw = await this.openTcp(address);
    const t2 = performance.now();
    let t3 = t2;
    if (this.opts.security === 'tls') {
      this.socket = await this.handshake(raw);
      t3 = performance.now();
    } else {
      this.socket = raw;
    }
    this.listen(this.socket);
    const greeting = await this.readStatus();
    const t4 = performance.now();
    if (!greeting.ok) throw new Pop3Error(`server refused the connection: ${greeting.text}`, 'connect', greeting.text);
    this.capabilities = await this.capa();
    let tlsMs = t3 - t2;
    if (this.opts.security === 'starttls') {
      if (!this.capabilities.some((c) => c.toUpperCase() === 'STLS')) {
        throw new Pop3Error('server does not offer STLS', 'capability');
      }
      await this.command('STLS');
      const ts = performance.now();
      const plain = this.socket as Socket;
      plain.removeAllListeners('data');
      this.socket = await this.handshake(plain);
      this.listen(this.socket);
      tlsMs = performance.now() - ts;
      this.capabilities = await this.capa();
    }
    const tls = this.socket as TLSSocket;
    const cipher = typeof tls.getCipher === 'function' ? tls.getCipher() : null;
    this.timings = {
      dnsMs: t1 - t0,
      tcpMs: t2 - t1,
      tlsMs,
      greetingMs: t4 - t3,
      tlsVersion: typeof tls.getProtocol === 'function' ? tls.getProtocol() : null,
      tlsCipher: cipher ? (cipher.standardName ?? cipher.name) : null,
      address,
    };
    return this.timings;
  }

  private openTcp(address: string): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const socket = netConnect({ host: address, port: this.opts.port });
      const timer = setTimeout(() => socket.destroy(new Error('timeout')), this.opts.timeoutMs ?? 30_000);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.setNoDelay(true);
        resolve(socket);
      });
      socket.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new Pop3Error(`cannot connect to ${this.opts.host}:${this.opts.port}: ${err.code ?? err.message}`, 'connect'));
      });
    });
  }

  private handshake(socket: Socket): Promise<TLSSocket> {
    return new Promise((resolve, reject) => {
      const tls = tlsConnect({
        socket,
        servername: this.opts.servername ?? (isIp(this.opts.host) ? undefined : this.opts.host),
        ca: this.opts.ca,
        rejectUnauthorized: !this.opts.insecure,
        minVersion: 'TLSv1.2',
      });
      tls.once('secureConnect', () => resolve(tls));
      tls.once('error', (err: NodeJS.ErrnoException) => {
        const certProblem = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS_CERT/.test(err.code ?? '');
        reject(new Pop3Error(certProblem ? `bad certificate: ${err.message}` : `TLS handshake failed: ${err.message}`, 'tls'));
      });
    });
  }

  private listen(socket: Socket): void {
    socket.on('data', (chunk: Buffer) => {
      this.reader.push(chunk);
      this.wake();
    });
    socket.on('error', (err) => {
      this.failure = new Pop3Error(`connection failed: ${err.message}`, 'connect');
      this.wake();
    });
    socket.on('close', () => {
      this.failure ??= new Pop3Error('connection closed by the server', 'connect');
      this.wake();
    });
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  private async waitFor<T>(read: () => T | null): Promise<T> {
    const deadline = Date.now() + (this.opts.timeoutMs ?? 60_000);
    for (;;) {
      const value = read();
      if (value !== null) return value;
      if (this.failure) throw this.failure;
      const left = deadline - Date.now();
      if (left <= 0) throw new Pop3Error('timed out waiting for the server', 'timeout');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  private readStatus(): Promise<Pop3StatusLine> {
    return this.waitFor(() => this.reader.readStatus());
  }

  private send(line: string): void {
    if (!this.socket) throw new Pop3Error('not connected', 'connect');
    this.socket.write(`${line}\r\n`);
  }

  /** Sends a command and returns its +OK text; throws Pop3Error on -ERR. */
  async command(line: string): Promise<string> {
    this.send(line);
    const status = await this.readStatus();
    if (!status.ok || status.continuation) {
      throw new Pop3Error(`${line.split(' ')[0]} failed: ${status.text}`, 'protocol', status.text);
    }
    return status.text;
  }

  /** Sends a command whose +OK reply is followed by a multi-line body. */
  async multiline(line: string): Promise<Buffer> {
    await this.command(line);
    return this.waitFor(() => this.reader.readMultiline());
  }

  async capa(): Promise<string[]> {
    try {
      return (await this.multiline('CAPA')).toString('utf8').split('\r\n').filter(Boolean);
    } catch (err) {
      if (err instanceof Pop3Error && err.kind === 'protocol') return [];
      throw err;
    }
  }

  /** Logs in with AUTH PLAIN when offered, else USER/PASS. */
  async login(user: string, password: string): Promise<void> {
    const sasl = this.capabilities.find((c) => c.toUpperCase().startsWith('SASL '));
    try {
      if (sasl && sasl.toUpperCase().split(' ').includes('PLAIN')) {
        await this.command(`AUTH PLAIN ${encodePlain(user, password)}`);
      } else {
        await this.command(`USER ${user}`);
        await this.command(`PASS ${password}`);
      }
    } catch (err) {
      if (err instanceof Pop3Error && err.kind === 'protocol') {
        throw new Pop3Error(`authentication failed: ${err.serverText ?? err.message}`, 'auth', err.serverText);
      }
      throw err;
    }
  }

  async stat(): Promise<{ count: number; size: number }> {
    const [count, size] = (await this.command('STAT')).split(' ').map(Number);
    return { count, size };
  }

  async list(): Promise<Array<{ number: number; size: number }>> {
    return lines(await this.multiline('LIST')).map((l) => {
      const [n, s] = l.split(' ').map(Number);
      return { number: n, size: s };
    });
  }

  async uidl(): Promise<UidlEntry[]> {
    return lines(await this.multiline('UIDL')).map((l) => {
      const [n, uidl] = l.split(' ');
      return { number: Number(n), uidl };
    });
  }

  retr(n: number): Promise<Buffer> {
    return this.multiline(`RETR ${n}`);
  }

  top(n: number, bodyLines: number): Promise<Buffer> {
    return this.multiline(`TOP ${n} ${bodyLines}`);
  }

  async dele(n: number): Promise<void> {
    await this.command(`DELE ${n}`);
  }

  async rset(): Promise<void> {
    await this.command('RSET');
  }

  async noop(): Promise<void> {
    await this.command('NOOP');
  }

  /** Ends the session (the server applies DELEs now) and closes. */
  async quit(): Promise<void> {
    try {
      await this.command('QUIT');
    } finally {
      this.close();
    }
  }

  /** Drops the connection without QUIT: the server must delete nothing. */
  close(): void {
    this.socket?.destroy();
    this.socket = null;
  }
}

function lines(body: Buffer): string[] {
  return body.toString('utf8').split('\r\n').filter(Boolean);
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}
