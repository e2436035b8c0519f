/**
 * `--demo`: a Mailstead of its own on loopback, with a generated mailbox.
 * The server runs as a child process (`mailstead serve` from this build), not
 * in this process: the speed test reports its client's CPU time, and a server
 * sharing the process would be counted as client.
 *
 * The mailbox is filled through the store before the server starts; while it
 * runs, new mail is delivered the way `mailstead deliver` does it (the store,
 * then a signal on the data directory's notify socket that wakes IDLE).
 * The child and the temporary data directory are removed on every way out:
 * stop(), an error, Ctrl-C (SIGINT), SIGTERM, and process exit.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MailDomain } from '../../domain/mail-domain.js';
import { openDataDir } from '../../net/data-dir.js';
import { ForwardingBus } from '../../notify/process-bridge.js';
import type { MailStore } from '../../store/types.js';
import { ToolError } from '../errors.js';
import { demoMessage, prng } from './demo-mailbox.js';
import type { Target } from './target.js';

export interface Demo {
  dataDir: string;
  address: string;
  password: string;
  certPem: string;
  imap: Target;
  pop3: Target;
  ports: Record<string, number>;
  /** The server's process id (a child of this process). */
  pid: number;
  createAccount(address: string, password: string): Promise<void>;
  /** Delivers a message like `mailstead deliver`: stored, and IDLE sessions are told. */
  deliver(address: string, content: Buffer): Promise<void>;
  /** Delivers one new message into the measured mailbox (for the resync figure). */
  addOneMessage(): Promise<boolean>;
  /** Removes what addOneMessage added, after the resync that found it. */
  removeAddedMessages(): Promise<void>;
  stop(): Promise<void>;
}

/** Generous: a loaded machine starts a server in seconds; this only catches one that never listens. */
const START_TIMEOUT_MS = 120_000;

/** `dist/cli/main.js` beside this build (or `src/cli/main.ts` under tsx). */
function mainScript(): string {
  const js = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
  return existsSync(js) ? js : js.replace(/\.js$/, '.ts');
}

/** A domain on the data directory, as a short-lived process (`mailstead deliver`) has it. */
class Delivery {
  private constructor(
    private readonly store: MailStore,
    private readonly bus: ForwardingBus,
    readonly domain: MailDomain,
  ) {}

  static async open(dataDir: string): Promise<Delivery> {
    const store = await openDataDir(dataDir);
    const bus = new ForwardingBus(dataDir);
    return new Delivery(store, bus, new MailDomain(store, bus));
  }

  async deliver(address: string, content: Buffer): Promise<number> {
    const { uid } = await this.domain.deliver(address, content);
    // The signal to the server is sent before the next measured phase starts, not during it.
    await this.bus.close();
    return uid;
  }

  /** Expunges the given INBOX UIDs (the resync's new messages), so every run and protocol sees the same mailbox. */
  async expunge(address: string, uids: number[]): Promise<void> {
    if (uids.length === 0) return;
    const account = await this.domain.requireAccount(address);
    await this.domain.expungeMessages(await this.domain.requireMailbox(account.id, 'INBOX'), uids);
    await this.bus.close();
  }

  async close(): Promise<void> {
    await this.bus.close();
    await this.store.close();
  }
}

export async function startDemo(messages: number, onProgress: (done: number, total: number) => void): Promise<Demo> {
  const dataDir = mkdtempSync(join(tmpdir(), 'mailstead-speedtest-demo-'));
  let child: ChildProcess | null = null;
  let delivery: Delivery | null = null;
  let stopped: Promise<void> | null = null;

  // Last resort on exit (also after uncaughtException → process.exit): no waiting is possible here.
  const onExit = () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals) => {
    void stop().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await delivery?.close().catch(() => {});
      const c = child;
      if (c && c.exitCode === null && c.signalCode === null) {
        const exited = new Promise((resolve) => c.once('exit', resolve));
        c.kill('SIGTERM');
        await exited;
      }
      rmSync(dataDir, { recursive: true, force: true });
      process.off('exit', onExit);
    })();
    return stopped;
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.on('exit', onExit);

  try {
    const address = 'demo@localhost';
    const password = randomBytes(12).toString('base64url');
    delivery = await Delivery.open(dataDir);
    await delivery.domain.createAccount(address, password);
    const rand = prng(2026);
    for (let i = 0; i < messages; i++) {
      await delivery.domain.deliver(address, demoMessage(i, rand, address).content);
      if ((i + 1) % 100 === 0 || i + 1 === messages) onProgress(i + 1, messages);
    }
    const configFile = join(dataDir, 'demo-config.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        dataDir,
        hostname: 'localhost',
        logLevel: 'silent',
        authFailureDelayMs: 10,
        listeners: { imap: 'off', imaps: '127.0.0.1:0', pop3: 'off', pop3s: '127.0.0.1:0', lmtp: 'off' },
      }),
    );
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MAILSTEAD_')));
    const server = spawn(process.execPath, [...process.execArgv, mainScript(), 'serve', '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'], env });
    child = server;
    const ports = await listening(server, ['imaps', 'pop3s']);
    let extra = messages;
    const added: number[] = [];
    const target = (protocol: 'imap' | 'pop3', port: number): Target => ({
      protocol,
      implicitTls: true,
      host: '127.0.0.1',
      port,
      user: address,
      url: `${protocol}s://${address}@127.0.0.1:${port}`,
    });
    const d = delivery;
    return {
      dataDir,
      address,
      password,
      certPem: readFileSync(join(dataDir, 'tls', 'cert.pem'), 'utf8'),
      imap: target('imap', ports.imaps),
      pop3: target('pop3', ports.pop3s),
      ports,
      pid: server.pid ?? 0,
      async createAccount(account, accountPassword) {
        await d.domain.createAccount(account, accountPassword);
      },
      async deliver(account, content) {
        await d.deliver(account, content);
      },
      async addOneMessage() {
        added.push(await d.deliver(address, demoMessage(extra++, rand, address).content));
        return true;
      },
      async removeAddedMessages() {
        await d.expunge(address, added.splice(0));
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Waits for the server's `listening <protocol> <host>:<port>` lines (serve.ts prints one per listener). */
function listening(server: ChildProcess, protocols: string[]): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const ports: Record<string, number> = {};
    const timer = setTimeout(() => fail(`the demo server did not start within ${START_TIMEOUT_MS / 1000} s`), START_TIMEOUT_MS);
    const fail = (message: string) => {
      clearTimeout(timer);
      server.off('exit', onExit);
      reject(new ToolError(message, 'local'));
    };
    const onExit = (code: number | null) => fail(`the demo server exited (${code}) before listening: ${err.trim().split('\n').pop() ?? ''}`);
    server.once('exit', onExit);
    server.stderr!.setEncoding('utf8').on('data', (t: string) => (err = (err + t).slice(-4096)));
    server.stdout!.setEncoding('utf8').on('data', (t: string) => {
      out += t;
      let nl: number;
      while ((nl = out.indexOf('\n')) >= 0) {
        const m = /^listening (\w+) 127\.0\.0\.1:(\d+)$/.exec(out.slice(0, nl));
        out = out.slice(nl + 1);
        if (m) ports[m[1]] = Number(m[2]);
      }
      if (protocols.every((p) => ports[p] !== undefined)) {
        clearTimeout(timer);
        server.off('exit', onExit);
        resolve(ports);
      }
    });
  });
}
