/**
 * --allow-write only: push and coherence, in a temporary folder this test
 * creates and removes. Session A watches the folder (EXAMINE + IDLE, RFC 2177);
 * session B APPENDs one message (push: APPEND sent to A's EXISTS), then sets
 * \Seen on it (coherence: STORE sent to A's FETCH FLAGS). Without IDLE, A
 * polls with NOOP and the figures say so.
 */
import { randomBytes } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import type { ImapFlow } from 'imapflow';
import { toToolError } from '../errors.js';
import { closeImapSession, type ImapSession, openImapSession, type SessionOptions } from './imap-session.js';

export interface PushRun {
  idle: boolean;
  pushMs: number;
  coherenceMs: number;
}

export class PushTester {
  private watcher: ImapSession | null = null;
  private writer: ImapSession | null = null;
  readonly folder = `mailstead-speedtest-${randomBytes(4).toString('hex')}`;
  private created = false;

  constructor(private readonly opts: SessionOptions) {}

  async run(timeoutMs = 30_000): Promise<PushRun> {
    const where = `IMAP ${this.opts.target.host}:${this.opts.target.port}`;
    try {
      this.watcher ??= await openImapSession(this.opts, { watchIdle: true });
      this.writer ??= await openImapSession(this.opts);
      const a = this.watcher.client;
      const b = this.writer.client;
      if (!this.created) {
        await b.mailboxCreate(this.folder);
        this.created = true;
      }
      const idle = a.capabilities.has('IDLE');
      await a.mailboxOpen(this.folder, { readOnly: true });

      const exists = waitFor<void>(a, 'exists', (ev: { path: string; count: number; prevCount: number }) => ev.path === (a.mailbox ? a.mailbox.path : '') && ev.count > ev.prevCount, timeoutMs);
      await this.startWatching(a, idle);
      const t0 = performance.now();
      const appended = await b.append(this.folder, testMessage(), []);
      await this.until(a, idle, exists);
      const pushMs = performance.now() - t0;

      await this.stopWatching(a, idle);
      await b.mailboxOpen(this.folder);
      const uid = appended && appended.uid ? appended.uid : (await b.fetchAll('*', { uid: true }, {}))[0].uid;
      const seen = waitFor<void>(a, 'flags', (ev: { flags: Set<string> }) => ev.flags.has('\\Seen'), timeoutMs);
      await this.startWatching(a, idle);
      const t1 = performance.now();
      await b.messageFlagsAdd(String(uid), ['\\Seen'], { uid: true });
      await this.until(a, idle, seen);
      const coherenceMs = performance.now() - t1;
      await this.stopWatching(a, idle);
      await b.mailboxClose();
      return { idle, pushMs, coherenceMs };
    } catch (err) {
      throw toToolError(err, where);
    }
  }

  /** IDLE, and wait for the server's "+" so the clock starts only once the server listens. */
  private async startWatching(a: ImapFlow, idle: boolean): Promise<void> {
    if (!idle) return;
    const watcher = this.watcher!;
    const before = watcher.idleAckAt;
    void a.idle().catch(() => {});
    const deadline = Date.now() + 10_000;
    while (watcher.idleAckAt === before && Date.now() < deadline) await sleep(1);
  }

  private async stopWatching(a: ImapFlow, idle: boolean): Promise<void> {
    // Any command breaks imapflow's IDLE with DONE first.
    if (idle) await a.noop();
  }

  /** With IDLE the event simply arrives; without it, poll with NOOP like a client would. */
  private async until(a: ImapFlow, idle: boolean, event: Promise<void>): Promise<void> {
    if (idle) return event;
    let done = false;
    void event.then(() => (done = true), () => (done = true));
    while (!done) {
      await a.noop();
      if (!done) await sleep(5);
    }
    return event;
  }

  /** Removes the temporary folder and closes both sessions; safe to call twice. */
  async cleanup(): Promise<void> {
    try {
      if (this.created && this.writer) {
        if (this.writer.client.mailbox) await this.writer.client.mailboxClose().catch(() => {});
        if (this.watcher?.client.mailbox) await this.watcher.client.mailboxClose().catch(() => {});
        await this.writer.client.mailboxDelete(this.folder);
        this.created = false;
      }
    } finally {
      await closeImapSession(this.watcher);
      await closeImapSession(this.writer);
      this.watcher = this.writer = null;
    }
  }
}

function waitFor<T>(client: ImapFlow, name: string, match: (ev: never) => boolean, timeoutMs: number): Promise<T> {
  const emitter = client as unknown as EventEmitter;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(name, listener);
      reject(new Error(`no ${name} notification within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    const listener = (ev: unknown) => {
      if (!match(ev as never)) return;
      clearTimeout(timer);
      emitter.off(name, listener);
      resolve(undefined as T);
    };
    emitter.on(name, listener);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function testMessage(): Buffer {
  return Buffer.from(
    [
      'From: Mailstead speed test <speedtest@localhost>',
      'To: speedtest@localhost',
      'Subject: speed test push probe',
      `Date: ${new Date().toUTCString().replace('GMT', '+0000')}`,
      `Message-ID: <${randomBytes(8).toString('hex')}@speedtest.invalid>`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=us-ascii',
      '',
      'This message was appended to a temporary folder by mailstead speedtest --allow-write.',
      '',
    ].join('\r\n'),
  );
}
