/**
 * An in-memory Connection for driving a session without a socket: records
 * what the session writes, lets a test feed bytes and wait for output.
 */
import type { Connection, Session } from '../../src/net/connection.js';

export class FakeConnection implements Connection {
  remoteAddress = '127.0.0.1';
  secure = false;
  tlsInfo: string | null = null;
  closedByServer = false;
  paused = false;
  idleTimeoutMs = 0;
  private onTimeout: (() => void) | null = null;
  private output: Buffer[] = [];
  private waiters: Array<() => void> = [];
  session: Session | null = null;

  constructor(opts: { secure?: boolean; remoteAddress?: string } = {}) {
    this.secure = opts.secure ?? false;
    if (opts.remoteAddress) this.remoteAddress = opts.remoteAddress;
    if (this.secure) this.tlsInfo = 'TLSv1.3 TLS_AES_256_GCM_SHA384';
  }

  async write(data: string | Buffer): Promise<void> {
    this.output.push(Buffer.isBuffer(data) ? data : Buffer.from(data, 'utf8'));
    for (const w of this.waiters.splice(0)) w();
  }

  async startTls(): Promise<void> {
    this.secure = true;
    this.tlsInfo = 'TLSv1.3 TLS_AES_256_GCM_SHA384';
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
  async waitFor(pattern: RegExp | string, ms = 5000): Promise<string> {
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

  /** Feed text (or bytes) to the session. */
  send(data: string | Buffer): void {
    if (!this.session) throw new Error('no session attached');
    this.session.feed(Buffer.isBuffer(data) ? data : Buffer.from(data, 'utf8'));
  }
}
