/**
 * The benchmark's IMAP client: the speed test's lean measuring client
 * (src/tools/speedtest/wire/imap.ts), which consumes answers as they stream
 * in, skipping literals by their announced length and counting octets and
 * untagged responses, so the client spends as little of the two shared cores
 * as possible. imapflow parses every response into objects, which on a
 * 2,000-message header sync costs more CPU than the server does and would
 * blur the comparison. This file only keeps the benchmark's vocabulary.
 */
import { type ImapReply, WireImap } from '../../src/tools/speedtest/wire/imap.js';

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

/** A benchmark waits on big APPENDs and downloads: ten minutes before a silent server is given up. */
const TIMEOUT_MS = 10 * 60_000;

function target(t: Pick<ImapTarget, 'port' | 'certPem'>) {
  return { host: '127.0.0.1', port: t.port, implicitTls: true, ca: [t.certPem], servername: 'localhost', timeoutMs: TIMEOUT_MS, where: 'IMAP bench' };
}

function result(r: ImapReply): CommandResult {
  return { bytes: r.octets, untagged: r.untagged, lines: r.lines, status: r.status };
}

export class BenchImapClient {
  private constructor(private readonly client: WireImap) {}

  /** Connects over TLS and reads the greeting. */
  static async open(t: Pick<ImapTarget, 'port' | 'certPem'>): Promise<BenchImapClient> {
    return new BenchImapClient(await WireImap.open(target(t)));
  }

  /** Connects over TLS and logs in with LOGIN (the command every server in the comparison offers). */
  static async login(t: ImapTarget): Promise<BenchImapClient> {
    return new BenchImapClient(await WireImap.connect({ ...target(t), user: t.user, password: t.password, auth: 'login' }));
  }

  /** Sends `TAG command` and resolves with the result when the tagged reply arrives (any status). */
  async command(command: string, collect = false, watch?: (line: string) => void): Promise<CommandResult> {
    return result(await this.client.command(command, { collect, watch }));
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
    const done = await this.client.idle(onPush);
    return async () => result(await done());
  }

  /** LOGOUT and close. */
  logout(): Promise<void> {
    return this.client.logout();
  }

  close(): void {
    this.client.close();
  }
}
