/**
 * Carries bus signals from short-lived processes on the same machine (the
 * `deliver` command, the admin CLI) into the running server, over a Unix
 * socket in the data directory: one JSON line per signal. Signals only; the
 * receiving sessions read the change from the store themselves.
 */
import { lstatSync, type Stats, unlinkSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import type { Logger } from '../observability/log.js';
import type { MailboxListSignal, MailboxSignal, NotifyBus } from './bus.js';

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
  removeStaleSocket(path);
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
        if (signal && 'mailboxId' in signal) bus.publish(signal);
        else if (signal) bus.publishMailboxList(signal);
        nl = buffered.indexOf('\n');
      }
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // Mode 0600 from the moment the socket exists: any local user who can connect can wake
    // sessions and learn nothing, but a signal is the server's business alone. bind(2) creates
    // the socket file with 0777 & ~umask, and Node binds a path synchronously inside listen(),
    // so a umask set around that call leaves no moment at which the socket is open to others.
    const umask = process.umask(0o177);
    try {
      server.listen(path, () => resolve());
    } finally {
      process.umask(umask);
    }
  });
  // Fail closed should a future Node bind after listen() returns (and so outside the umask).
  const mode = lstatSync(path).mode & 0o777;
  if (mode !== 0o600) {
    server.close();
    throw new Error(`${path} was created with mode ${mode.toString(8)} instead of 600`);
  }
  return server;
}

/**
 * A socket left by a server that was killed would make listen() fail with EADDRINUSE. The
 * caller holds the data directory lock, so a socket found here belongs to no running server.
 * lstat, not stat: a symlink (to anything) or a file that is not a socket is never removed
 * or followed; the server refuses to start and says what it found.
 */
function removeStaleSocket(path: string): void {
  let stats: Stats;
  try {
    stats = lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (!stats.isSocket()) {
    throw new Error(`${path} exists and is not a socket (${describeType(stats)}); remove it and start again`);
  }
  unlinkSync(path);
}

function describeType(stats: Stats): string {
  if (stats.isSymbolicLink()) return 'a symbolic link';
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFile()) return 'a regular file';
  return 'not a socket';
}

/** True when `path` is a socket itself (not a symlink to one). */
function isSocket(path: string): boolean {
  try {
    return lstatSync(path).isSocket();
  } catch {
    return false;
  }
}

const LIST_CHANGES: ReadonlyArray<MailboxListSignal['change']> = ['created', 'renamed', 'deleted', 'subscribed', 'unsubscribed'];
/** Longer than any valid mailbox name. */
const MAX_NAME_CHARS = 4096;

const isName = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= MAX_NAME_CHARS;

function parseSignal(line: string): MailboxSignal | MailboxListSignal | null {
  try {
    const v = JSON.parse(line) as Partial<MailboxSignal> & Partial<MailboxListSignal>;
    if (!Number.isSafeInteger(v.accountId)) return null;
    const accountId = v.accountId as number;
    if (Number.isSafeInteger(v.mailboxId)) return { accountId, mailboxId: v.mailboxId as number };
    if (v.change && LIST_CHANGES.includes(v.change) && isName(v.name)) {
      // origin names a session of the receiving server; a line from outside must not claim one.
      if (v.change !== 'renamed') return { accountId, change: v.change, name: v.name };
      if (isName(v.oldName)) return { accountId, change: v.change, name: v.name, oldName: v.oldName };
    }
  } catch {
    // ignore malformed lines
  }
  return null;
}

/** Best effort: when no server runs, there is nobody to wake, and that is fine. */
export function sendSignal(dataDir: string, signal: MailboxSignal | MailboxListSignal, timeoutMs = 1000): Promise<void> {
  const path = notifySocketPath(dataDir);
  if (!isSocket(path)) return Promise.resolve();
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

  publish(signal: MailboxSignal | MailboxListSignal): void {
    const p = sendSignal(this.dataDir, signal);
    this.pending.add(p);
    p.finally(() => this.pending.delete(p));
  }

  subscribe(): () => void {
    return () => {};
  }

  publishMailboxList(signal: MailboxListSignal): void {
    this.publish(signal);
  }

  subscribeMailboxList(): () => void {
    return () => {};
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }
}
