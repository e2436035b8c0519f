/**
 * A lean IMAP client for measuring servers, not for reading mail: it sends a
 * command and consumes the answer as it streams in, skipping literals by
 * their announced length and counting bytes and untagged responses, so the
 * client spends as little of the two shared cores as possible. imapflow
 * parses every response into objects, which on a 2,000-message header sync
 * costs more CPU than the server does and would blur the comparison.
 */
import { connect as tlsConnect, type TLSSocket } from 'node:tls';

export interface ImapTarget {
  port: number;
  certPem: string;
  user: string;
  password: string;
}

export interface CommandResult {
  /** Octets received for this command, tagged line included. */
  bytes: number;
  /** Untagged responses (`* ...`). */
  untagged: number;
  /** Lines (first segment, up to any literal) of untagged responses, when collected. */
  lines: string[];
  status: string;
}

const EMPTY = Buffer.alloc(0);

export class BenchImapClient {
  private partial: Buffer = EMPTY;
  private literalLeft = 0;
  /** True while the current physical line continues a response after a literal. */
  private continuing = false;
  private current: {
    tag: string;
    result: CommandResult;
    collect: boolean;
    /** Sees each untagged line as it arrives (IDLE pushes). */
    watch?: (line: string) => void;
    resolve: (r: CommandResult) => void;
    reject: (e: Error) => void;
  } | null = null;
  private tagNo = 0;
  private failure: Error | null = null;
  private onContinuation: (() => void) | null = null;
  /** Called for each untagged line while no command is running (IDLE pushes, the greeting). */
  onUntagged: ((line: string) => void) | null = null;
  private greeting: Promise<string>;

  private constructor(private readonly socket: TLSSocket) {
    let greeted: (line: string) => void = () => {};
    this.greeting = new Promise((resolve) => (greeted = resolve));
    this.onUntagged = (line) => {
      this.onUntagged = null;
      greeted(line);
    };
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    const fail = (err: Error) => {
      this.failure ??= err;
      this.current?.reject(err);
      this.current = null;
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('IMAP connection closed')));
  }

  static async open(target: Pick<ImapTarget, 'port' | 'certPem'>): Promise<BenchImapClient> {
    const socket = await new Promise<TLSSocket>((resolve, reject) => {
      const s = tlsConnect({ host: '127.0.0.1', port: target.port, ca: [target.certPem], servername: 'localhost' }, () => resolve(s));
      s.once('error', reject);
    });
    socket.setNoDelay(true);
    const client = new BenchImapClient(socket);
    const greeting = await client.greeting;
    if (!greeting.startsWith('* OK')) throw new Error(`IMAP greeting: ${greeting}`);
    return client;
  }

  /** Connects over TLS and logs in. */
  static async login(target: ImapTarget): Promise<BenchImapClient> {
    const client = await BenchImapClient.open(target);
    await client.ok(`LOGIN ${quote(target.user)} ${quote(target.password)}`);
    return client;
  }

  private receive(chunk: Buffer): void {
    if (this.current) this.current.result.bytes += chunk.length;
    let buf = this.partial.length ? Buffer.concat([this.partial, chunk]) : chunk;
    this.partial = EMPTY;
    let pos = 0;
    while (pos < buf.length) {
      if (this.literalLeft > 0) {
        const take = Math.min(this.literalLeft, buf.length - pos);
        pos += take;
        this.literalLeft -= take;
        continue;
      }
      const nl = buf.indexOf(10, pos);
      if (nl < 0) {
        this.partial = Buffer.from(buf.subarray(pos));
        break;
      }
      this.line(buf, pos, nl + 1);
      pos = nl + 1;
    }
    buf = EMPTY;
  }

  private line(buf: Buffer, start: number, end: number): void {
    const continuing = this.continuing;
    // A line ending in {n}CRLF (or {n+}) announces n octets of literal that belong to the same response.
    let literal = -1;
    if (end - start >= 5 && buf[end - 3] === 0x7d) {
      const open = buf.lastIndexOf(0x7b, end - 3);
      if (open >= start) {
        const digits = buf.toString('latin1', open + 1, end - 3).replace(/\+$/, '');
        if (/^\d+$/.test(digits)) literal = Number(digits);
      }
    }
    this.continuing = literal >= 0;
    if (literal >= 0) this.literalLeft = literal;
    if (continuing) return;
    const cur = this.current;
    if (buf[start] === 0x2a /* '*' */) {
      if (cur) {
        cur.result.untagged++;
        if (cur.collect || cur.watch) {
          const text = buf.toString('latin1', start, end).trimEnd();
          if (cur.collect) cur.result.lines.push(text);
          cur.watch?.(text);
        }
      } else this.onUntagged?.(buf.toString('latin1', start, end).trimEnd());
      return;
    }
    if (buf[start] === 0x2b /* '+' */) {
      if (!cur) this.onUntagged?.(buf.toString('latin1', start, end).trimEnd());
      else this.onContinuation?.();
      return;
    }
    if (cur) {
      const text = buf.toString('latin1', start, end).trimEnd();
      if (text.startsWith(`${cur.tag} `)) {
        this.current = null;
        cur.result.status = text.slice(cur.tag.length + 1);
        cur.resolve(cur.result);
      }
    }
  }

  /** Sends `TAG command` and resolves with the result when the tagged reply arrives (any status). */
  command(command: string, collect = false, watch?: (line: string) => void): Promise<CommandResult> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.current) return Promise.reject(new Error('one command at a time'));
    const tag = `b${++this.tagNo}`;
    return new Promise((resolve, reject) => {
      this.current = { tag, result: { bytes: 0, untagged: 0, lines: [], status: '' }, collect, watch, resolve, reject };
      this.socket.write(`${tag} ${command}\r\n`);
    });
  }

  /** As command(), but rejects unless the server answers OK. */
  async ok(command: string, collect = false): Promise<CommandResult> {
    const r = await this.command(command, collect);
    if (!r.status.startsWith('OK')) throw new Error(`${command.split(' ')[0]}: ${r.status}`);
    return r;
  }

  /**
   * Starts IDLE (RFC 2177), waits for the continuation, and returns a function
   * that ends it with DONE. Untagged pushes go to `onPush` meanwhile.
   */
  async idle(onPush: (line: string) => void): Promise<() => Promise<CommandResult>> {
    const continued = new Promise<void>((resolve) => (this.onContinuation = resolve));
    const done = this.command('IDLE', false, onPush);
    await Promise.race([
      continued,
      done.then((r) => {
        throw new Error(`IDLE: ${r.status}`);
      }),
    ]);
    this.onContinuation = null;
    return async () => {
      this.socket.write('DONE\r\n');
      return done;
    };
  }

  /** LOGOUT and close. */
  async logout(): Promise<void> {
    try {
      await this.command('LOGOUT');
    } finally {
      this.socket.destroy();
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

function quote(s: string): string {
  return `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}
