/**
 * A line-oriented client on a raw socket, bound to a chosen local (source)
 * address: the login tests send exact lines from distinct loopback addresses
 * and wait for replies by pattern, never by time.
 */
import { connect, type Socket } from 'node:net';

export class LineClient {
  private buffer = '';
  private waiters: Array<() => void> = [];
  closed = false;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => {
      this.buffer += text;
      this.notify();
    });
    socket.on('close', () => {
      this.closed = true;
      this.notify();
    });
    socket.on('error', () => {});
  }

  static open(port: number, localAddress = '127.0.0.1'): Promise<LineClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, localAddress }, () => resolve(new LineClient(socket)));
      socket.once('error', reject);
    });
  }

  private notify(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Waits until the buffer matches, then takes everything up to the end of the match. */
  async read(pattern: RegExp): Promise<string> {
    for (;;) {
      const m = pattern.exec(this.buffer);
      if (m) {
        const end = m.index + m[0].length;
        const text = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end);
        return text;
      }
      if (this.closed) throw new Error(`connection closed while waiting for ${pattern}; buffer: ${JSON.stringify(this.buffer.slice(0, 300))}`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  send(line: string): void {
    this.socket.write(`${line}\r\n`);
  }

  async untilClosed(): Promise<string> {
    while (!this.closed) await new Promise<void>((resolve) => this.waiters.push(resolve));
    const rest = this.buffer;
    this.buffer = '';
    return rest;
  }

  end(): void {
    this.socket.destroy();
  }
}
