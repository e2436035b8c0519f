/**
 * A minimal LMTP client (RFC 2033) over TCP or a Unix socket, used the same
 * way for both servers: one persistent connection per sender, one
 * transaction at a time (MAIL, RCPT, DATA, one reply per recipient), no
 * pipelining. It only needs to be correct and cheap, not general.
 */
import { connect, type Socket } from 'node:net';

export type LmtpEndpoint = { port: number } | { path: string };

export class LmtpClient {
  private buffer = '';
  private lines: string[] = [];
  private waiter: (() => void) | null = null;
  private failure: Error | null = null;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (text: string) => {
      this.buffer += text;
      let i = this.buffer.indexOf('\r\n');
      while (i >= 0) {
        this.lines.push(this.buffer.slice(0, i));
        this.buffer = this.buffer.slice(i + 2);
        i = this.buffer.indexOf('\r\n');
      }
      this.wake();
    });
    socket.on('error', (err) => {
      this.failure = err;
      this.wake();
    });
    socket.on('close', () => {
      this.failure ??= new Error('LMTP connection closed');
      this.wake();
    });
  }

  static async open(endpoint: LmtpEndpoint): Promise<LmtpClient> {
    const socket = 'path' in endpoint ? connect(endpoint.path) : connect(endpoint.port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    socket.setNoDelay?.(true);
    const client = new LmtpClient(socket);
    await client.expect(220);
    client.socket.write('LHLO bench.invalid\r\n');
    await client.expect(250);
    return client;
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  /** Reads one (possibly multi-line) reply and checks its code. */
  private async expect(code: number): Promise<string> {
    let text = '';
    for (;;) {
      while (this.lines.length === 0) {
        if (this.failure) throw this.failure;
        await new Promise<void>((resolve) => (this.waiter = resolve));
      }
      const line = this.lines.shift() as string;
      text += `${line}\n`;
      if (line[3] === '-') continue;
      if (Number(line.slice(0, 3)) !== code) throw new Error(`LMTP: expected ${code}, got: ${text.trim()}`);
      return text;
    }
  }

  /** Delivers one message (CRLF line ends) to one recipient; resolves on its 250. */
  async send(from: string, to: string, message: Buffer): Promise<void> {
    this.socket.write(`MAIL FROM:<${from}>\r\n`);
    await this.expect(250);
    this.socket.write(`RCPT TO:<${to}>\r\n`);
    await this.expect(250);
    this.socket.write('DATA\r\n');
    await this.expect(354);
    this.socket.write(dotStuff(message));
    this.socket.write(message.subarray(-2).toString('latin1') === '\r\n' ? '.\r\n' : '\r\n.\r\n');
    await this.expect(250);
  }

  async close(): Promise<void> {
    try {
      this.socket.write('QUIT\r\n');
      await this.expect(221);
    } catch {
      // closing anyway
    }
    this.socket.destroy();
  }
}

/** RFC 5321 §4.5.2: a line starting with "." gets one more. */
function dotStuff(message: Buffer): Buffer {
  const text = message.toString('latin1');
  if (!text.startsWith('.') && !text.includes('\r\n.')) return message;
  return Buffer.from(text.replace(/(^|\r\n)\./g, '$1..'), 'latin1');
}

/** Delivers `messages` to `to` over `senders` parallel connections; returns the elapsed milliseconds. */
export async function deliverAll(endpoint: LmtpEndpoint, to: string, messages: Buffer[], senders: number): Promise<number> {
  const clients = await Promise.all(Array.from({ length: senders }, () => LmtpClient.open(endpoint)));
  let next = 0;
  const start = performance.now();
  await Promise.all(
    clients.map(async (client) => {
      while (next < messages.length) {
        const message = messages[next++];
        await client.send('bench@example.org', to, message);
      }
    }),
  );
  const elapsed = performance.now() - start;
  await Promise.all(clients.map((c) => c.close()));
  return elapsed;
}
