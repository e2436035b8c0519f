/**
 * A lean POP3 client for measuring servers: replies stream through
 * Pop3Scanner, bodies are counted rather than kept, and when the server
 * offers PIPELINING (RFC 2449 §6.6) a batch of commands goes out in one
 * write. CAPA, STLS (RFC 2595 §4), AUTH PLAIN with an initial response
 * (RFC 5034), else USER/PASS. src/tools/clients/pop3-client.ts stays the
 * byte-exact client for the tools that keep messages (archive, import).
 */
import { encodePlain } from '../../../protocol/sasl/plain.js';
import { oneLine, ToolError } from '../../errors.js';
import type { ConnectTimings, PhaseRun } from '../run-types.js';
import { connectRoundTrips, WireConnection, type WireTarget } from './connection.js';
import { WireProtocolError } from './imap-scanner.js';
import { type Counting, startMeter, without } from './meter.js';
import { type Pop3Reply, Pop3Scanner } from './pop3-scanner.js';

export interface Pop3LoginOptions extends WireTarget {
  user: string;
  password: string;
  /** 'auto': AUTH PLAIN when CAPA lists SASL PLAIN, else USER/PASS; 'user': always USER/PASS. */
  auth?: 'auto' | 'user';
}

/** Commands per write when pipelining: enough to keep the link busy, few enough to bound what is in flight. */
export const PIPELINE_BATCH = 64;

export interface Pop3Command {
  line: string;
  multiline: boolean;
  /** Receive body lines as text (small replies only); otherwise the body is counted. */
  onLine?: (text: string) => void;
}

export class WirePop3 implements Counting {
  roundTrips = 0;
  capabilities: string[] = [];
  timings!: ConnectTimings;
  login!: PhaseRun;
  private conn!: WireConnection;
  private readonly scanner = new Pop3Scanner();
  private failure: ToolError | null = null;
  private readonly rejects = new Set<(e: Error) => void>();
  private held: Buffer[] | null = null;

  private constructor(readonly where: string) {}

  get octetsIn(): number {
    return this.conn.octetsIn;
  }

  get pipelining(): boolean {
    return this.capabilities.some((c) => c.toUpperCase() === 'PIPELINING');
  }

  /** Connects, reads the greeting, CAPA, upgrades with STLS when offered (or required) and logs in. */
  static async connect(opts: Pop3LoginOptions): Promise<WirePop3> {
    const client = await WirePop3.open(opts);
    try {
      await client.authenticate(opts);
    } catch (err) {
      client.close();
      throw err;
    }
    return client;
  }

  /** Connects and reads the greeting; no login. */
  static async open(target: WireTarget): Promise<WirePop3> {
    const client = new WirePop3(target.where);
    const greeting = client.expect({ line: '', multiline: false });
    client.conn = await WireConnection.open(
      target,
      (chunk) => client.receive(chunk),
      (err) => client.fail(err),
    );
    client.conn.awaiting = true;
    const reply = await greeting;
    client.conn.awaiting = false;
    const greetingAt = performance.now();
    if (!reply.ok) {
      client.close();
      throw new ToolError(`${target.where}: server refused the connection: ${oneLine(reply.status)}`, 'protocol');
    }
    const m = client.conn.marks;
    client.timings = {
      dnsMs: m.dnsMs,
      tcpMs: m.tcpAt - m.startedAt,
      tlsMs: m.secureAt - m.tcpAt,
      greetingMs: greetingAt - m.secureAt,
      authMs: 0,
      security: target.implicitTls ? 'tls' : 'plain',
      compression: false,
      tlsVersion: m.tlsVersion,
      tlsCipher: m.tlsCipher,
      address: m.address,
      connectRoundTrips: connectRoundTrips(m, target.implicitTls),
    };
    return client;
  }

  private async authenticate(opts: Pop3LoginOptions): Promise<void> {
    const stop = startMeter(this);
    this.capabilities = await this.capa();
    let upgrade: PhaseRun | null = null;
    if (!opts.implicitTls) {
      const offered = this.capabilities.some((c) => c.toUpperCase() === 'STLS');
      if (!offered && opts.requireStartTls) throw new ToolError(`${this.where}: capability missing (server does not offer STLS)`, 'capability');
      if (offered) {
        const stopUpgrade = startMeter(this);
        const reply = await this.run({ line: 'STLS', multiline: false }, true);
        if (!reply.ok) throw new ToolError(`${this.where}: STLS refused: ${oneLine(reply.status)}`, 'tls');
        const held = Buffer.concat(this.held ?? []);
        this.held = null;
        await this.conn.upgrade(held.length);
        upgrade = stopUpgrade();
        // RFC 2595 §4: what CAPA said before TLS is forgotten.
        this.capabilities = await this.capa();
      }
    }
    const sasl = this.capabilities.find((c) => /^SASL\s/i.test(c));
    let reply: Pop3Reply;
    if (opts.auth !== 'user' && sasl && sasl.toUpperCase().split(/\s+/).includes('PLAIN')) {
      reply = await this.run({ line: `AUTH PLAIN ${encodePlain(opts.user, opts.password)}`, multiline: false });
    } else {
      reply = await this.run({ line: `USER ${opts.user}`, multiline: false });
      if (reply.ok) reply = await this.run({ line: `PASS ${opts.password}`, multiline: false });
    }
    if (!reply.ok) throw new ToolError(`${this.where}: authentication failed: ${oneLine(reply.status.replace(/^-ERR\s*/, ''))}`, 'auth');
    const total = stop();
    this.login = upgrade ? without(total, upgrade) : total;
    this.timings.authMs = this.login.ms;
    if (upgrade) {
      const m = this.conn.marks;
      this.timings.security = 'starttls';
      this.timings.tlsMs = m.upgradeMs;
      this.timings.tlsVersion = m.tlsVersion;
      this.timings.tlsCipher = m.tlsCipher;
      this.timings.connectRoundTrips = connectRoundTrips(m, false);
    }
  }

  /** CAPA (RFC 2449 §5); a server without it offers nothing beyond RFC 1939. */
  async capa(): Promise<string[]> {
    const caps: string[] = [];
    const reply = await this.run({ line: 'CAPA', multiline: true, onLine: (l) => caps.push(l) });
    return reply.ok ? caps : [];
  }

  /** One command, one round trip; the reply as it came (check ok). */
  run(command: Pop3Command, switches = false): Promise<Pop3Reply> {
    this.roundTrips++;
    const reply = this.expect(command, switches);
    this.conn.write(`${command.line}\r\n`);
    return reply;
  }

  /** As run(), but -ERR is an error. */
  async ok(line: string, multiline = false): Promise<Pop3Reply> {
    const reply = await this.run({ line, multiline });
    if (!reply.ok) throw new ToolError(`${this.where}: ${line.split(' ')[0]} failed: ${oneLine(reply.status)}`, 'protocol');
    return reply;
  }

  /**
   * Sends the commands in batches of PIPELINE_BATCH, one write per batch, and waits for each
   * batch's replies before the next (RFC 2449 §6.6): one round trip per batch. `each` sees
   * every reply in order; only a server that offers PIPELINING may be sent this.
   */
  async pipeline(commands: Pop3Command[], each: (reply: Pop3Reply, index: number) => void): Promise<void> {
    for (let i = 0; i < commands.length; i += PIPELINE_BATCH) {
      const batch = commands.slice(i, i + PIPELINE_BATCH);
      this.roundTrips++;
      const replies = batch.map((c, j) => this.expect(c).then((r) => each(r, i + j)));
      this.conn.write(batch.map((c) => `${c.line}\r\n`).join(''));
      await Promise.all(replies);
    }
  }

  private expect(command: Pop3Command, switches = false): Promise<Pop3Reply> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<Pop3Reply>((resolve, reject) => {
      this.rejects.add(reject);
      if (this.conn) this.conn.awaiting = true;
      this.scanner.expect({
        multiline: command.multiline,
        line: command.onLine,
        switches,
        done: (reply) => {
          this.rejects.delete(reject);
          if (this.scanner.waiting === 0 && this.conn) this.conn.awaiting = false;
          resolve(reply);
        },
      });
    });
  }

  async noop(): Promise<void> {
    await this.ok('NOOP');
  }

  /** RSET then QUIT: leaves the maildrop exactly as it was (RFC 1939 §5 RSET; Dovecot marks RETRed mail \Seen otherwise). */
  async quit(): Promise<void> {
    try {
      if (!this.failure) {
        await this.run({ line: 'RSET', multiline: false });
        await this.run({ line: 'QUIT', multiline: false });
      }
    } catch {
      // Leaving anyway.
    } finally {
      this.close();
    }
  }

  close(): void {
    this.failure ??= new ToolError(`${this.where}: connection closed`, 'protocol');
    this.conn?.close();
  }

  private receive(chunk: Buffer): void {
    if (this.held) {
      this.held.push(chunk);
      return;
    }
    try {
      const rest = this.scanner.push(chunk);
      if (this.scanner.halt) {
        this.scanner.halt = false;
        this.held = [rest];
      }
    } catch (err) {
      if (!(err instanceof WireProtocolError)) throw err;
      this.fail(new ToolError(`${this.where}: protocol error: ${err.message}`, 'protocol'));
      this.conn.close();
    }
  }

  private fail(err: ToolError): void {
    this.failure ??= err;
    for (const reject of this.rejects) reject(err);
    this.rejects.clear();
  }
}
