/**
 * An in-memory Connection for driving a session without a socket: records
 * what the session writes, lets a test feed bytes and wait for output.
 */
import { constants as zlibConstants, deflateRawSync, inflateRawSync } from 'node:zlib';
import type { Connection, Session } from '../../src/session/connection.js';

const SYNC = { finishFlush: zlibConstants.Z_SYNC_FLUSH };

export class FakeConnection implements Connection {
  remoteAddress = '127.0.0.1';
  secure = false;
  tlsInfo: string | null = null;
  closedByServer = false;
  paused = false;
  idleTimeoutMs = 0;
  private onTimeout: (() => void) | null = null;
  private output: Buffer[] = [];
  /** COMPRESS=DEFLATE is on: what went over the "wire" since then, compressed. */
  compressed = false;
  readonly wire: Buffer[] = [];
  private waiters: Array<() => void> = [];
  session: Session | null = null;

  constructor(opts: { secure?: boolean; remoteAddress?: string } = {}) {
    this.secure = opts.secure ?? false;
    if (opts.remoteAddress) this.remoteAddress = opts.remoteAddress;
    if (this.secure) this.tlsInfo = 'TLSv1.3 TLS_AES_256_GCM_SHA384';
  }

  async write(data: string | Buffer): Promise<void> {
    let bytes = Buffer.isBuffer(data) ? data : Buffer.from(data, 'utf8');
    if (this.compressed) {
      // Each write is compressed and sync-flushed on its own (as the socket adapter flushes per write),
      // and decoded back, so text() shows what a decompressing client reads.
      const packed = deflateRawSync(bytes, SYNC);
      this.wire.push(packed);
      bytes = inflateRawSync(packed, SYNC);
    }
    this.output.push(bytes);
    for (const w of this.waiters.splice(0)) w();
  }

  async startTls(): Promise<void> {
    this.secure = true;
    this.tlsInfo = 'TLSv1.3 TLS_AES_256_GCM_SHA384';
  }

  startCompression(): void {
    if (this.compressed) throw new Error('compression is already active');
    this.compressed = true;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }

  setIdleTimeout(ms: number, onTimeout: () => void): void {
    this.idleTimeoutMs = ms;
    this.onTimeout = ms > 0 ? onTimeout : null;
  }

  /** Simulate the inactivity timer firing. */
  fireTimeout(): void {
    this.onTimeout?.();
  }

  close(): void {
    if (this.closedByServer) return;
    this.closedByServer = true;
    for (const w of this.waiters.splice(0)) w();
  }

  /** Everything written so far, as text (latin1 keeps bytes 1:1). */
  text(): string {
    return Buffer.concat(this.output).toString('latin1');
  }

  /** Take and clear what was written so far. */
  take(): string {
    const t = this.text();
    this.output = [];
    return t;
  }

  /** Resolve once the written text matches `pattern` (or the connection closes); rejects after `ms`. */
  async waitFor(pattern: RegExp | string, ms = 30_000): Promise<string> {
    const deadline = Date.now() + ms;
    for (;;) {
      const t = this.text();
      if (typeof pattern === 'string' ? t.includes(pattern) : pattern.test(t)) return t;
      if (this.closedByServer) throw new Error(`connection closed while waiting for ${pattern}; output:\n${t}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${pattern}; output:\n${t}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /**
   * Resolve once the server has closed the connection. Waits for the event only
   * (no clock), so it also works under fake timers; the test timeout bounds it.
   */
  async waitClosed(): Promise<void> {
    while (!this.closedByServer) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /** Feed text (or bytes) to the session. */
  send(data: string | Buffer): void {
    if (!this.session) throw new Error('no session attached');
    let bytes = Buffer.isBuffer(data) ? data : Buffer.from(data, 'utf8');
    // After COMPRESS the client's bytes arrive deflated; round-trip them as the socket adapter would.
    if (this.compressed) bytes = inflateRawSync(deflateRawSync(bytes, SYNC), SYNC);
    this.session.feed(bytes);
  }
}
