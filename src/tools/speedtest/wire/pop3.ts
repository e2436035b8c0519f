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
import type { PhaseRun } from '../run-types.js';
import { WireClient } from './client.js';
import type { WireTarget } from './connection.js';
import { startMeter } from './meter.js';
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

export class WirePop3 extends WireClient {
  capabilities: string[] = [];
  private readonly rejects = new Set<(e: Error) => void>();

  private constructor(
    where: string,
    private readonly scanner = new Pop3Scanner(),
  ) {
    super(where, scanner);
  }

  get pipelining(): boolean {
    return this.capabilities.some((c) => c.toUpperCase() === 'PIPELINING');
  }

  /** Connects, reads the greeting, CAPA, upgrades with STLS when offered (or required) and logs in. */
  static async connect(opts: Pop3LoginOptions): Promise<WirePop3> {
    const client = await WirePop3.open(opts);
    return client.loginOrClose(() => client.authenticate(opts));
  }

  /** Connects and reads the greeting; no login. */
  static async open(target: WireTarget): Promise<WirePop3> {
    const client = new WirePop3(target.where);
    const greeting = client.expect({ line: '', multiline: false });
    await client.attach(target);
    client.conn.awaiting = true;
    const reply = await greeting;
    client.conn.awaiting = false;
    const greetingAt = performance.now();
    if (!reply.ok) {
      client.close();
      throw new ToolError(`${target.where}: server refused the connection: ${oneLine(reply.status)}`, 'protocol');
    }
    client.greeted(target, greetingAt);
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
        await this.upgradeHeld();
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
    this.loggedIn(stop(), upgrade);
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

  protected fail(err: ToolError): void {
    this.failure ??= err;
    for (const reject of this.rejects) reject(err);
    this.rejects.clear();
  }
}
