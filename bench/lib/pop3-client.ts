/**
 * A lean POP3 client for measuring servers: it streams a multi-line answer
 * past, looking only for the terminating CRLF "." CRLF (which may straddle
 * reads) and counting octets. src/tools/clients/pop3-client.ts is the
 * byte-exact client (dot-unstuffing, CAPA, SASL) and is used for the login
 * benchmark; for RETR of every message its buffer-and-rescan reader costs
 * the client more CPU than the servers spend (see docs/benchmarks.md).
 */
import { connect as tlsConnect, type TLSSocket } from 'node:tls';

const EMPTY = Buffer.alloc(0);
const TERMINATOR = Buffer.from('\r\n.\r\n', 'latin1');

export interface Pop3Result {
  status: string;
  /** Octets received for the command, status line included. */
  bytes: number;
  /** The multi-line body (terminator included) when collected. */
  body: Buffer | null;
}

interface Pending {
  multiline: boolean;
  collect: boolean;
  phase: 'status' | 'body';
  status: string;
  bytes: number;
  carry: Buffer;
  parts: Buffer[];
  resolve: (r: Pop3Result) => void;
  reject: (e: Error) => void;
}

export class BenchPop3Client {
  private buf: Buffer = EMPTY;
  private pending: Pending | null = null;
  private failure: Error | null = null;

  private constructor(private readonly socket: TLSSocket) {
    socket.on('data', (chunk: Buffer) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
      this.process();
    });
    const fail = (err: Error) => {
      this.failure ??= err;
      this.pending?.reject(err);
      this.pending = null;
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('POP3 connection closed')));
  }

  static async login(target: { port: number; certPem: string; user: string; password: string }): Promise<BenchPop3Client> {
    const socket = tlsConnect({ host: '127.0.0.1', port: target.port, ca: [target.certPem], servername: 'localhost' });
    const client = new BenchPop3Client(socket);
    const greeting = client.expect(false);
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    socket.setNoDelay(true);
    if (!(await greeting).status.startsWith('+OK')) throw new Error('POP3 greeting refused');
    await client.ok(`USER ${target.user}`);
    await client.ok(`PASS ${target.password}`);
    return client;
  }

  private expect(multiline: boolean, collect = false): Promise<Pop3Result> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending = { multiline, collect, phase: 'status', status: '', bytes: 0, carry: EMPTY, parts: [], resolve, reject };
      this.process();
    });
  }

  private process(): void {
    const p = this.pending;
    if (!p || this.buf.length === 0) return;
    if (p.phase === 'status') {
      const eol = this.buf.indexOf('\r\n');
      if (eol < 0) return;
      p.status = this.buf.toString('latin1', 0, eol);
      p.bytes += eol + 2;
      this.buf = this.buf.subarray(eol + 2);
      if (!p.multiline || !p.status.startsWith('+OK')) return this.finish(p);
      p.phase = 'body';
      // The status line's CRLF counts as the start of the first body line, so an empty body (".") is found.
      p.carry = Buffer.from('\r\n', 'latin1');
    }
    const buf = this.buf;
    let end = -1;
    const head = Buffer.concat([p.carry, buf.subarray(0, TERMINATOR.length - 1)]);
    const h = head.indexOf(TERMINATOR);
    if (h >= 0) end = h + TERMINATOR.length - p.carry.length;
    else {
      const i = buf.indexOf(TERMINATOR);
      if (i >= 0) end = i + TERMINATOR.length;
    }
    if (end < 0) {
      p.bytes += buf.length;
      if (p.collect) p.parts.push(buf);
      const joined = Buffer.concat([p.carry, buf]);
      p.carry = Buffer.from(joined.subarray(Math.max(0, joined.length - (TERMINATOR.length - 1))));
      this.buf = EMPTY;
      return;
    }
    p.bytes += end;
    if (p.collect) p.parts.push(buf.subarray(0, end));
    this.buf = buf.subarray(end);
    this.finish(p);
  }

  private finish(p: Pending): void {
    this.pending = null;
    p.resolve({ status: p.status, bytes: p.bytes, body: p.collect ? Buffer.concat(p.parts) : null });
  }

  async ok(line: string): Promise<string> {
    const done = this.expect(false);
    this.socket.write(`${line}\r\n`);
    const r = await done;
    if (!r.status.startsWith('+OK')) throw new Error(`${line.split(' ')[0]}: ${r.status}`);
    return r.status;
  }

  async multiline(line: string, collect = false): Promise<Pop3Result> {
    const done = this.expect(true, collect);
    this.socket.write(`${line}\r\n`);
    const r = await done;
    if (!r.status.startsWith('+OK')) throw new Error(`${line.split(' ')[0]}: ${r.status}`);
    return r;
  }

  /** RSET then QUIT: a benchmark reads and must leave the maildrop as it was (Dovecot marks RETRed mail \Seen otherwise). */
  async quit(): Promise<void> {
    try {
      await this.ok('RSET');
      await this.ok('QUIT');
    } finally {
      this.socket.destroy();
    }
  }
}
