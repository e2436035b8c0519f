/**
 * A deliberately dumb IMAP/POP3 wire client for transcripts: it sends exactly
 * the bytes it is given and returns exactly the bytes the server answered
 * (literals included), so two servers can be compared octet by octet.
 */
import { connect as tlsConnect, type TLSSocket } from 'node:tls';

export class WireClient {
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  private closed = false;
  private tagNo = 0;

  private constructor(private readonly socket: TLSSocket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {
      this.closed = true;
      this.wake();
    });
  }

  static async open(port: number, certPem: string, servername = 'localhost'): Promise<WireClient> {
    const socket = await new Promise<TLSSocket>((resolve, reject) => {
      const s = tlsConnect({ host: '127.0.0.1', port, ca: [certPem], servername }, () => resolve(s));
      s.once('error', reject);
    });
    return new WireClient(socket);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private async more(timeoutMs: number): Promise<void> {
    if (this.closed) throw new Error(`connection closed; unread: ${this.buf.toString('latin1')}`);
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timeout waiting for server; have: ${this.buf.toString('latin1').slice(-500)}`)), timeoutMs);
      this.waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** One line (without CRLF), or with IMAP literals: the line and every literal it announces, joined. */
  async readLine(timeoutMs = 15_000, imapLiterals = true): Promise<string> {
    let out = '';
    for (;;) {
      const i = this.buf.indexOf('\r\n');
      if (i < 0) {
        await this.more(timeoutMs);
        continue;
      }
      const line = this.buf.subarray(0, i).toString('latin1');
      this.buf = this.buf.subarray(i + 2);
      out += line;
      const lit = imapLiterals ? /\{(\d+)\+?\}$/.exec(line) : null;
      if (!lit) return out;
      const n = Number(lit[1]);
      while (this.buf.length < n) await this.more(timeoutMs);
      out += `\r\n${this.buf.subarray(0, n).toString('latin1')}`;
      this.buf = this.buf.subarray(n);
    }
  }

  write(data: string | Buffer): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  nextTag(): string {
    this.tagNo += 1;
    return `t${this.tagNo}`;
  }

  /**
   * Sends `TAG command` and returns every response line up to and including the
   * tagged one. A command containing `{n}\r\n` literals is sent in pieces,
   * waiting for the server's `+` continuation before each literal.
   */
  async command(command: string, timeoutMs = 30_000): Promise<string[]> {
    const tag = this.nextTag();
    const pieces = command.split(/(?<=\{\d+\}\r\n)/);
    const lines: string[] = [];
    for (let p = 0; p < pieces.length; p++) {
      const last = p === pieces.length - 1;
      this.write(p === 0 ? `${tag} ${pieces[p]}${last ? '\r\n' : ''}` : `${pieces[p]}${last ? '\r\n' : ''}`);
      if (last) break;
      for (;;) {
        const line = await this.readLine(timeoutMs);
        if (line.startsWith('+')) break;
        lines.push(line);
        if (line.startsWith(`${tag} `)) return lines; // rejected before the literal
      }
    }
    for (;;) {
      const line = await this.readLine(timeoutMs);
      lines.push(line);
      if (line.startsWith(`${tag} `)) return lines;
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

/** IMAP quoted string for simple ASCII values (tests only). */
export function q(s: string): string {
  return `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}
