/**
 * A lean IMAP client for measuring servers, not for reading mail: it sends
 * commands and consumes the answers as they stream in (ImapScanner), counting
 * octets, responses and literals and handing lines to the caller as buffer
 * ranges. imapflow parses every response into objects, which on loopback
 * costs more CPU than the server spends; the speed test and `npm run bench`
 * measure with this client instead (issue 10).
 */
import { encodePlain } from '../../../protocol/sasl/plain.js';
import { oneLine, ToolError } from '../../errors.js';
import type { PhaseRun } from '../run-types.js';
import { WireClient } from './client.js';
import type { WireTarget } from './connection.js';
import { ImapScanner } from './imap-scanner.js';
import { startMeter } from './meter.js';

export interface ImapLoginOptions extends WireTarget {
  user: string;
  password: string;
  /** 'auto': AUTHENTICATE PLAIN (with SASL-IR when offered, RFC 4959), else LOGIN; 'login': always LOGIN. */
  auth?: 'auto' | 'login';
}

export interface ImapReply {
  ok: boolean;
  /** Status and text after the tag, e.g. "OK [READ-ONLY] EXAMINE completed". */
  status: string;
  /** Octets of this command's responses (after inflation), tagged line included. */
  octets: number;
  /** Untagged responses (`* ...`). */
  untagged: number;
  literals: number;
  literalOctets: number;
  /** First segments of the untagged responses, with `collect`. */
  lines: string[];
}

export interface CommandHooks {
  /** Keep each untagged response's first segment as text (small answers only: EXAMINE, CAPABILITY). */
  collect?: boolean;
  /** Each untagged response's first segment as a buffer range (valid only during the call). */
  untagged?: (buf: Buffer, start: number, end: number) => void;
  /** Each untagged response's first segment as text, as it arrives (IDLE pushes). */
  watch?: (line: string) => void;
  /** Each literal once skipped. */
  literal?: (size: number) => void;
  /** A continuation request (`+ ...`). */
  continuation?: (text: string) => void;
  /** Stop reading at this command's OK: the stream changes (STARTTLS, COMPRESS). */
  switches?: boolean;
}

interface Pending {
  tag: string;
  hooks: CommandHooks;
  reply: ImapReply;
  resolve: (r: ImapReply) => void;
  reject: (e: Error) => void;
}

export class WireImap extends WireClient {
  capabilities = new Set<string>();
  private readonly queue: Pending[] = [];
  private greeting: ((line: string) => void) | null = null;
  private tagNo = 0;

  private constructor(where: string) {
    const scanner: ImapScanner = new ImapScanner({
      line: (buf, start, end, continued, octets) => this.line(scanner, buf, start, end, continued, octets),
      literal: (size) => this.literal(size),
    });
    super(where, scanner);
  }

  /** Connects, reads the greeting, upgrades with STARTTLS when offered (or required) and logs in. */
  static async connect(opts: ImapLoginOptions): Promise<WireImap> {
    const client = await WireImap.open(opts);
    return client.loginOrClose(() => client.authenticate(opts));
  }

  /** Connects and reads the greeting; no login (for connection tests). */
  static async open(target: WireTarget): Promise<WireImap> {
    const client = new WireImap(target.where);
    const greeting = new Promise<string>((resolve) => (client.greeting = resolve));
    await client.attach(target);
    client.conn.awaiting = true;
    const line = await Promise.race([greeting, client.failed()]);
    client.conn.awaiting = false;
    const greetingAt = performance.now();
    if (!/^\* (OK|PREAUTH)\b/i.test(line)) {
      client.close();
      throw new ToolError(`${target.where}: server refused the connection: ${oneLine(line)}`, 'protocol');
    }
    client.noteCapabilities(line);
    client.greeted(target, greetingAt);
    return client;
  }

  private async authenticate(opts: ImapLoginOptions): Promise<void> {
    const stop = startMeter(this);
    if (this.capabilities.size === 0) await this.refreshCapabilities();
    let upgrade: PhaseRun | null = null;
    if (!opts.implicitTls && (this.capabilities.has('STARTTLS') || opts.requireStartTls)) {
      const stopUpgrade = startMeter(this);
      await this.startTls();
      upgrade = stopUpgrade();
      // RFC 9051 §6.2.1: capabilities learned before TLS are discarded.
      await this.refreshCapabilities();
    }
    const plain = encodePlain(opts.user, opts.password);
    let reply: ImapReply;
    if (opts.auth !== 'login' && this.capabilities.has('AUTH=PLAIN')) {
      reply = this.capabilities.has('SASL-IR')
        ? await this.command(`AUTHENTICATE PLAIN ${plain}`)
        : await this.command('AUTHENTICATE PLAIN', {
            continuation: () => {
              this.roundTrips++;
              this.conn.write(`${plain}\r\n`);
            },
          });
    } else if (this.capabilities.has('LOGINDISABLED')) {
      throw new ToolError(`${this.where}: capability missing (LOGIN is disabled and AUTH=PLAIN is not offered)`, 'capability');
    } else {
      reply = await this.command(`LOGIN ${quote(opts.user)} ${quote(opts.password)}`);
    }
    if (!reply.ok) throw new ToolError(`${this.where}: authentication failed: ${oneLine(reply.status.replace(/^(NO|BAD)\s*/i, ''))}`, 'auth');
    // RFC 9051 §6.2.3: the OK may carry the new capabilities; otherwise ask (one more round trip).
    this.capabilities.clear();
    this.noteCapabilities(reply.status);
    if (this.capabilities.size === 0) await this.refreshCapabilities();
    this.loggedIn(stop(), upgrade);
  }

  private async startTls(): Promise<void> {
    const reply = await this.command('STARTTLS', { switches: true });
    if (!reply.ok) throw new ToolError(`${this.where}: STARTTLS refused: ${oneLine(reply.status)}`, 'tls');
    await this.upgradeHeld();
  }

  /** COMPRESS DEFLATE (RFC 4978); from its OK on, both directions are deflated. */
  async compress(): Promise<void> {
    const reply = await this.command('COMPRESS DEFLATE', { switches: true });
    if (!reply.ok) throw new ToolError(`${this.where}: COMPRESS refused: ${oneLine(reply.status)}`, 'capability');
    this.conn.startCompression(this.release());
  }

  get compressed(): boolean {
    return this.conn.compressed;
  }

  private async refreshCapabilities(): Promise<void> {
    const reply = await this.ok('CAPABILITY', { collect: true });
    this.capabilities.clear();
    for (const line of reply.lines) this.noteCapabilities(line);
  }

  /** Takes capabilities from `* CAPABILITY ...` or a `[CAPABILITY ...]` response code. */
  private noteCapabilities(text: string): void {
    const m = /^\* CAPABILITY (.*)$/i.exec(text) ?? /\[CAPABILITY ([^\]]*)\]/i.exec(text);
    if (!m) return;
    for (const c of m[1].trim().split(/\s+/)) if (c) this.capabilities.add(c.toUpperCase());
  }

  /** Sends one command and waits for its tagged reply: one round trip. */
  command(command: string, hooks: CommandHooks = {}): Promise<ImapReply> {
    this.roundTrips++;
    return this.send(command, hooks);
  }

  /** As command(), but a NO or BAD is an error. */
  async ok(command: string, hooks: CommandHooks = {}): Promise<ImapReply> {
    const reply = await this.command(command, hooks);
    if (!reply.ok) throw new ToolError(`${this.where}: ${command.split(' ')[0]} failed: ${oneLine(reply.status)}`, 'protocol');
    return reply;
  }

  /** Sends several commands in one write (RFC 9051 §5.5) and waits for all: one round trip. */
  pipeline(commands: Array<{ command: string; hooks?: CommandHooks }>): Promise<ImapReply[]> {
    this.roundTrips++;
    const replies = commands.map((c) => this.send(c.command, c.hooks ?? {}, false));
    this.flush();
    return Promise.all(replies);
  }

  private pendingWrite: string[] = [];

  private send(command: string, hooks: CommandHooks, flush = true): Promise<ImapReply> {
    if (this.failure) return Promise.reject(this.failure);
    const tag = `w${++this.tagNo}`;
    return new Promise<ImapReply>((resolve, reject) => {
      this.queue.push({ tag, hooks, reply: { ok: false, status: '', octets: 0, untagged: 0, literals: 0, literalOctets: 0, lines: [] }, resolve, reject });
      this.conn.awaiting = true;
      this.pendingWrite.push(`${tag} ${command}\r\n`);
      if (flush) this.flush();
    });
  }

  private flush(): void {
    const data = this.pendingWrite.join('');
    this.pendingWrite = [];
    if (data) this.conn.write(data);
  }

  /**
   * Starts IDLE (RFC 2177), waits for the continuation and returns a function that ends it
   * with DONE; untagged responses go to `onPush` meanwhile.
   */
  async idle(onPush: (line: string) => void): Promise<() => Promise<ImapReply>> {
    let continued!: () => void;
    const started = new Promise<void>((resolve) => (continued = resolve));
    const done = this.command('IDLE', { watch: onPush, continuation: () => continued() });
    await Promise.race([
      started,
      done.then((r) => {
        throw new ToolError(`${this.where}: IDLE refused: ${oneLine(r.status)}`, 'capability');
      }),
    ]);
    // An idle session may stay quiet for as long as the caller likes.
    this.conn.awaiting = false;
    return () => {
      this.conn.awaiting = true;
      this.conn.write('DONE\r\n');
      return done;
    };
  }

  /** LOGOUT, then close. */
  async logout(): Promise<void> {
    try {
      if (!this.failure) await this.command('LOGOUT');
    } catch {
      // The server may close before its tagged OK; the session is over either way.
    } finally {
      this.close();
    }
  }

  private line(scanner: ImapScanner, buf: Buffer, start: number, end: number, continued: boolean, octets: number): void {
    const head = this.queue[0];
    if (head) head.reply.octets += octets;
    if (continued) return;
    const first = buf[start];
    if (first === 0x2a /* * */) {
      if (this.greeting) {
        const greeted = this.greeting;
        this.greeting = null;
        greeted(buf.toString('latin1', start, end));
        return;
      }
      if (!head) return;
      head.reply.untagged++;
      const hooks = head.hooks;
      hooks.untagged?.(buf, start, end);
      if (hooks.collect || hooks.watch) {
        const text = buf.toString('latin1', start, end);
        if (hooks.collect) head.reply.lines.push(text);
        hooks.watch?.(text);
      }
      return;
    }
    if (first === 0x2b /* + */) {
      head?.hooks.continuation?.(buf.toString('latin1', start, end));
      return;
    }
    const space = buf.indexOf(0x20, start);
    if (space < 0 || space >= end) return;
    const tag = buf.toString('latin1', start, space);
    const at = head?.tag === tag ? 0 : this.queue.findIndex((p) => p.tag === tag);
    if (at < 0) return;
    const [done] = this.queue.splice(at, 1);
    done.reply.status = buf.toString('latin1', space + 1, end);
    done.reply.ok = /^OK\b/i.test(done.reply.status);
    if (done.hooks.switches && done.reply.ok) scanner.halt = true;
    if (this.queue.length === 0) this.conn.awaiting = false;
    done.resolve(done.reply);
  }

  private literal(size: number): void {
    const head = this.queue[0];
    if (!head) return;
    head.reply.octets += size;
    head.reply.literals++;
    head.reply.literalOctets += size;
    head.hooks.literal?.(size);
  }

  private failWaiters: Array<(e: Error) => void> = [];

  private failed(): Promise<never> {
    const failed = new Promise<never>((_, reject) => {
      if (this.failure) reject(this.failure);
      else this.failWaiters.push(reject);
    });
    // Raced against the greeting: a failure after the race must not surface as an unhandled rejection.
    failed.catch(() => {});
    return failed;
  }

  protected fail(err: ToolError): void {
    this.failure ??= err;
    for (const p of this.queue.splice(0)) p.reject(err);
    for (const w of this.failWaiters.splice(0)) w(err);
  }
}

/** An IMAP quoted string (RFC 9051 §4.3); CR and LF cannot be quoted. */
function quote(s: string): string {
  if (/[\r\n]/.test(s)) throw new ToolError('a user name or password cannot contain a line break', 'usage');
  return `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}
