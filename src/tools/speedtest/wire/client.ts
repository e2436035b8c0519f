/**
 * What the IMAP and POP3 measuring clients share: the connection under them,
 * the connection phases read from its marks, the login phase less any
 * STARTTLS/STLS upgrade, and a reader that stops at a reply that changes the
 * stream (STARTTLS, STLS, COMPRESS) and holds what followed until it has.
 */
import { ToolError } from '../../errors.js';
import type { ConnectTimings, PhaseRun } from '../run-types.js';
import { connectRoundTrips, WireConnection, type WireTarget } from './connection.js';
import { WireProtocolError } from './imap-scanner.js';
import { type Counting, without } from './meter.js';

/** A streaming reader that a reply can halt (ImapScanner, Pop3Scanner). */
export interface HaltingReader {
  halt: boolean;
  /** Consumes a chunk; returns what followed a halting reply. */
  push(chunk: Buffer): Buffer;
}

export abstract class WireClient implements Counting {
  roundTrips = 0;
  /** Connection phases of this session; authMs is login.ms. */
  timings!: ConnectTimings;
  /** Authentication alone (no STARTTLS/STLS). */
  login!: PhaseRun;
  protected conn!: WireConnection;
  protected failure: ToolError | null = null;
  /** Octets after a halting reply, held until the stream has changed. */
  private held: Buffer[] | null = null;

  protected constructor(
    readonly where: string,
    private readonly reader: HaltingReader,
  ) {}

  get octetsIn(): number {
    return this.conn.octetsIn;
  }

  /** Opens the socket, read by this client from its first octet. */
  protected async attach(target: WireTarget): Promise<void> {
    this.conn = await WireConnection.open(
      target,
      (chunk) => this.receive(chunk),
      (err) => this.fail(err),
    );
  }

  /** The connection phases, once the greeting has arrived at `greetingAt`. */
  protected greeted(target: WireTarget, greetingAt: number): void {
    const m = this.conn.marks;
    this.timings = {
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
  }

  /** STARTTLS/STLS once its OK is read: the TLS handshake on the same socket. */
  protected async upgradeHeld(): Promise<void> {
    await this.conn.upgrade(this.release().length);
  }

  /** Logged in: the login phase is `total` less the upgrade, which belongs to the connection. */
  protected loggedIn(total: PhaseRun, upgrade: PhaseRun | null): void {
    this.login = upgrade ? without(total, upgrade) : total;
    this.timings.authMs = this.login.ms;
    if (!upgrade) return;
    const m = this.conn.marks;
    this.timings.security = 'starttls';
    this.timings.tlsMs = m.upgradeMs;
    this.timings.tlsVersion = m.tlsVersion;
    this.timings.tlsCipher = m.tlsCipher;
    this.timings.connectRoundTrips = connectRoundTrips(m, false);
  }

  /** Runs the login; when it fails, the connection is closed before the error goes on. */
  protected async loginOrClose(login: () => Promise<void>): Promise<this> {
    try {
      await login();
    } catch (err) {
      this.close();
      throw err;
    }
    return this;
  }

  /** What followed the halting reply. */
  protected release(): Buffer {
    const held = Buffer.concat(this.held ?? []);
    this.held = null;
    return held;
  }

  close(): void {
    this.failure ??= new ToolError(`${this.where}: connection closed`, 'protocol');
    this.conn?.close();
  }

  /** Fails every outstanding command. */
  protected abstract fail(err: ToolError): void;

  private receive(chunk: Buffer): void {
    if (this.held) {
      this.held.push(chunk);
      return;
    }
    try {
      const rest = this.reader.push(chunk);
      if (this.reader.halt) {
        this.reader.halt = false;
        this.held = [rest];
      }
    } catch (err) {
      if (!(err instanceof WireProtocolError)) throw err;
      this.fail(new ToolError(`${this.where}: protocol error: ${err.message}`, 'protocol'));
      this.conn.close();
    }
  }
}
