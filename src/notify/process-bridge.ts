/**
 * Carries bus signals from short-lived processes on the same machine (the
 * `deliver` command, the admin CLI) into the running server, over a Unix
 * socket in the data directory: one JSON line per signal. Signals only; the
 * receiving sessions read the change from the store themselves.
 */
import { existsSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import type { Logger } from '../observability/log.js';
import type { MailboxSignal, NotifyBus } from './bus.js';

export function notifySocketPath(dataDir: string): string {
  return join(dataDir, 'notify.sock');
}

/** Unix socket paths are limited to ~107 bytes on Linux. */
const MAX_SOCKET_PATH = 100;
const MAX_SIGNAL_LINE = 256;

export async function listenForSignals(dataDir: string, bus: NotifyBus, log: Logger): Promise<Server | null> {
  const path = notifySocketPath(dataDir);
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
    log.warn({ path }, 'data directory path too long for the notify socket; `deliver` will not wake IDLE sessions');
    return null;
  }
  // A socket left by a server that was killed would make listen() fail with EADDRINUSE.
  if (existsSync(path)) unlinkSync(path);
  const server = createServer((socket) => {
    let buffered = '';
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => {
      buffered += text;
      if (buffered.length > MAX_SIGNAL_LINE * 64) return socket.destroy();
      let nl = buffered.indexOf('\n');
      while (nl !== -1) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        const signal = parseSignal(line);
        if (signal) bus.publish(signal);
        nl = buffered.indexOf('\n');
      }
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  return server;
}

function parseSignal(line: string): MailboxSignal | null {
  try {
    const v = JSON.parse(line) as Partial<MailboxSignal>;
    if (Number.isSafeInteger(v.accountId) && Number.isSafeInteger(v.mailboxId)) {
      return { accountId: v.accountId as number, mailboxId: v.mailboxId as number };
    }
  } catch {
    // ignore malformed lines
  }
  return null;
}

/** Best effort: when no server runs, there is nobody to wake, and that is fine. */
export function sendSignal(dataDir: string, signal: MailboxSignal, timeoutMs = 1000): Promise<void> {
  const path = notifySocketPath(dataDir);
  if (!existsSync(path)) return Promise.resolve();
  return new Promise((resolve) => {
    const socket = connect(path);
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    socket.on('connect', () => socket.end(`${JSON.stringify(signal)}\n`));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.on('error', () => {});
  });
}

/** A bus for a short-lived process: forwards every signal to the running server. */
export class ForwardingBus implements NotifyBus {
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly dataDir: string) {}

  publish(signal: MailboxSignal): void {
    const p = sendSignal(this.dataDir, signal);
    this.pending.add(p);
    p.finally(() => this.pending.delete(p));
  }

  subscribe(): () => void {
    return () => {};
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }
}
