/**
 * The benchmark's POP3 client: the speed test's lean measuring client
 * (src/tools/speedtest/wire/pop3.ts), which streams a multi-line answer past,
 * looking only for line-initial dots (the terminator may straddle reads) and
 * counting octets. src/tools/clients/pop3-client.ts is the byte-exact client
 * (it keeps messages) and is used for the login benchmark; for RETR of every
 * message its buffer-and-rescan reader costs the client more CPU than the
 * servers spend (see docs/benchmarks.md).
 */
import { WirePop3 } from '../../src/tools/speedtest/wire/pop3.js';

export interface Pop3Result {
  status: string;
  /** Octets received for the command, status line included. */
  bytes: number;
  /** The multi-line body when collected: its lines (dot-unstuffed), each with CRLF, then ".\r\n". */
  body: Buffer | null;
}

const TIMEOUT_MS = 10 * 60_000;

export class BenchPop3Client {
  private constructor(private readonly client: WirePop3) {}

  /** Connects over TLS and logs in with USER/PASS (what every server in the comparison offers). */
  static async login(target: { port: number; certPem: string; user: string; password: string }): Promise<BenchPop3Client> {
    const client = await WirePop3.connect({
      host: '127.0.0.1',
      port: target.port,
      implicitTls: true,
      ca: [target.certPem],
      servername: 'localhost',
      timeoutMs: TIMEOUT_MS,
      where: 'POP3 bench',
      user: target.user,
      password: target.password,
      auth: 'user',
    });
    return new BenchPop3Client(client);
  }

  async ok(line: string): Promise<string> {
    const r = await this.client.run({ line, multiline: false });
    if (!r.ok) throw new Error(`${line.split(' ')[0]}: ${r.status}`);
    return r.status;
  }

  async multiline(line: string, collect = false): Promise<Pop3Result> {
    const lines: string[] = [];
    const r = await this.client.run({ line, multiline: true, onLine: collect ? (text) => lines.push(`${text}\r\n`) : undefined });
    if (!r.ok) throw new Error(`${line.split(' ')[0]}: ${r.status}`);
    return { status: r.status, bytes: r.octets, body: collect ? Buffer.from(`${lines.join('')}.\r\n`, 'latin1') : null };
  }

  /** RSET then QUIT: a benchmark reads and must leave the maildrop as it was (Dovecot marks RETRed mail \Seen otherwise). */
  quit(): Promise<void> {
    return this.client.quit();
  }
}
