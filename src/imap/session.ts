/**
 * One IMAP connection (RFC 9051 IMAP4rev2, accepting IMAP4rev1 clients).
 *
 * Bytes go into the codec's CommandReader; the session pulls ONE event at a
 * time and runs at most one command at once, so pipelined commands execute
 * in order (RFC 9051 §5.5 allows more, but order is what clients rely on).
 * Input that arrives while a command runs stays buffered in the reader; past
 * BUSY_BUFFER_BYTES the socket is paused. State is a discriminated union
 * (see state.ts); what each command may do in which state is in the registry.
 */
import type { Connection, Session } from '../session/connection.js';
import type { Logger } from '../observability/log.js';
import { crashPointAfterImapReply } from '../observability/fault.js';
import { commandStarted, idleStarted, pushDelivered, sessionStarted } from '../observability/metrics.js';
import { limits } from '../protocol/limits.js';
import { decodeMailboxName } from '../protocol/imap/mutf7.js';
import { encodeResponseParts } from '../protocol/imap/encoder.js';
import { CommandReader, type ReaderEvent } from '../protocol/imap/reader.js';
import type { DeferredLiteral, ImapCommand, ImapResponse } from '../protocol/imap/types.js';
import type { Readable } from 'node:stream';
import { randomUUID } from 'node:crypto';
import type { Account } from '../store/types.js';
import { preAuthCapabilities, sessionCapabilities } from './capabilities.js';
import { findCommand, wrongStateText } from './commands/registry.js';
import { checkRights } from './acl-check.js';
import { errorCompletion, isMailboxGone } from './errors.js';
import { sendNewMessageFetches, type SessionNotify } from './notify.js';
import { recentAfterSync, withRecentFlags } from './recent.js';
import { uidOnlyRefusal, withUidFetch } from './uidonly.js';
import { messageLimitOf, runWithinMessageLimit } from './message-limit.js';
import { seqsBeforeSync, withContextUpdates } from './search-context.js';
import type { CommandContext, Completion, ImapContext, SessionState, StreamedLiteral } from './state.js';
import { noteMailboxChanged } from './view.js';
import type { BodyWriter, StagedBody } from '../domain/staged-body.js';

export type { ImapContext } from './state.js';

/** A connection must log in within this many unauthenticated-idle periods (3 minutes by default). */
const LOGIN_DEADLINE_FACTOR = 3;

/** Pause the socket when this much input piles up behind a running command. */
const BUSY_BUFFER_BYTES = 1024 * 1024;

type Wake = { type: 'line'; line: string } | { type: 'signal' } | { type: 'timeout' } | { type: 'closed' };

export function createImapSession(connection: Connection, ctx: ImapContext): Session {
  return new ImapSession(connection, ctx);
}

export function isLoopback(address: string): boolean {
  return address === '::1' || /^(::ffff:)?127\./i.test(address);
}

class ImapSession implements Session, CommandContext {
  state: SessionState = { kind: 'not-authenticated', failures: 0 };
  readonly enabled = new Set<string>();
  /** After login: the account, named by the session's logger. */
  private accountAddress: string | null = null;
  /** The child logger naming the account, made on first use: most idle sessions never log. */
  private accountLog: Logger | null = null;
  private readonly reader: CommandReader;
  private readonly ready: Promise<void>;
  private running = false;
  private isClosed = false;
  private busyBytes = 0;
  private badInARow = 0;
  private unsubscribe: (() => void) | null = null;
  /** The bus listener of this session's own account, also given to accounts followed for shared mailboxes. */
  private onMailboxSignal: ((signal: { accountId: number; mailboxId: number }) => void) | null = null;
  /** Other accounts whose signals this session hears (followAccount), with their unsubscribe functions. */
  private readonly followed = new Map<number, () => void>();
  /** Ends this session's count in the metrics (from login to close). */
  private endSessionMetric: (() => void) | null = null;
  private readonly loginDeadline: NodeJS.Timeout;
  readonly sessionId = randomUUID();
  /** RFC 5465 NOTIFY SET in force (set by commands/notify.ts). */
  notify: SessionNotify | null = null;
  /** A change signal for the selected mailbox arrived while nobody waited for it. */
  private signalPending = false;
  /** APPEND literals of the command being read, streamed into the store (by placeholder), and the one being written. */
  private readonly literalSinks = new Map<Buffer, LiteralSink>();
  private currentSink: LiteralSink | null = null;
  /** Set while a handler waits for input or a signal (AUTHENTICATE continuation, IDLE). */
  private waiter: { wantSignal: boolean; resolve: (w: Wake) => void } | null = null;

  constructor(
    readonly connection: Connection,
    readonly imap: ImapContext,
  ) {
    this.reader = new CommandReader({
      maxLineBytes: limits.imapMaxLineBytes,
      maxLiteralBytes: limits.imapMaxSmallLiteralBytes,
      // Raised to the message limit at login: before it APPEND cannot run, so its literal is not buffered.
      maxAppendLiteralBytes: limits.imapMaxSmallLiteralBytes,
      maxNesting: limits.imapMaxNesting,
      // LITERAL- until login (RFC 7888): a stranger cannot push large unsolicited literals at us.
      maxNonSyncLiteralBytes: limits.imapLiteralMinusBytes,
      // An APPEND literal beyond the small-literal size goes to the blob store as it arrives.
      streamAppendLiteralsOver: limits.imapMaxSmallLiteralBytes,
    });
    this.armTimeout();
    // The idle timer restarts on every byte, so a client trickling a NOOP every 50 s would stay
    // unauthenticated forever; this deadline ends that whatever it sends (as Dovecot does).
    this.loginDeadline = setTimeout(() => {
      if (this.state.kind !== 'not-authenticated') return;
      void this.send({ type: 'status', tag: '*', status: 'BYE', text: 'Too long without logging in' }).finally(() => this.close());
    }, LOGIN_DEADLINE_FACTOR * imap.unauthenticatedTimeoutMs);
    this.loginDeadline.unref();
    this.ready = this.send({
      type: 'status',
      tag: '*',
      status: 'OK',
      code: { name: 'CAPABILITY', value: { atom: this.capabilities().join(' ') } },
      text: 'Mailstead ready',
    });
  }

  get log(): Logger {
    if (this.accountAddress !== null && this.accountLog === null) this.accountLog = this.imap.log.child({ account: this.accountAddress });
    return this.accountLog ?? this.imap.log;
  }

  // ------------------------------------------------------------ Session port

  feed(chunk: Buffer): void {
    if (this.isClosed) return;
    this.reader.push(chunk);
    if (this.waiter) {
      this.deliverLine();
    } else if (this.running) {
      this.busyBytes += chunk.length;
      if (this.busyBytes > BUSY_BUFFER_BYTES) this.connection.pause();
    } else {
      void this.pump();
    }
  }

  closed(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    clearTimeout(this.loginDeadline);
    this.unsubscribe?.();
    this.unsubscribe = null;
    for (const off of this.followed.values()) off();
    this.followed.clear();
    this.endSessionMetric?.();
    this.state = { kind: 'logout' };
    this.wake({ type: 'closed' });
    // A client gone mid-APPEND: what was written of its literals goes (no partial body is left behind).
    void this.dropLiteralSinks();
  }

  async shutdown(): Promise<void> {
    if (this.isClosed) return;
    await this.send({ type: 'status', tag: '*', status: 'BYE', text: 'Server shutting down' });
    this.close();
  }

  // ------------------------------------------------------- CommandContext

  setState(state: SessionState): void {
    this.state = state;
  }

  send(response: ImapResponse): Promise<void> {
    return this.sendAll([response]);
  }

  /**
   * One encode for the responses; bytes go out in one write, except message
   * bodies (deferred literals), which are copied from their stream chunk by
   * chunk, each write awaiting the socket's backpressure.
   */
  async sendAll(responses: readonly ImapResponse[]): Promise<void> {
    if (responses.length === 0) return;
    responses = withUidFetch(this, withRecentFlags(this, responses));
    const parts = encodeResponseParts(responses, { utf8: this.enabled.has('UTF8=ACCEPT') });
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      if (this.isClosed) {
        if (!Buffer.isBuffer(part)) (part.source as Readable).destroy();
        continue;
      }
      if (Buffer.isBuffer(part)) await this.connection.write(part);
      else await this.writeLiteral(part);
    }
  }

  /** Exactly `length` octets from the literal's stream; should it end short, the wire can no longer be framed: close. */
  private async writeLiteral(literal: DeferredLiteral): Promise<void> {
    const stream = literal.source as Readable;
    let left = literal.length;
    try {
      for await (const chunk of stream) {
        if (this.isClosed) break;
        const bytes = chunk as Buffer;
        const piece = bytes.length > left ? bytes.subarray(0, left) : bytes;
        left -= piece.length;
        await this.connection.write(piece);
        if (left === 0) break;
      }
    } catch (err) {
      this.log.error({ err }, 'reading a message body failed');
    } finally {
      stream.destroy();
    }
    if (left > 0 && !this.isClosed) {
      this.log.error({ missing: left }, 'message body ended early; closing the connection');
      this.close();
    }
  }

  streamedLiteral(placeholder: Buffer): StreamedLiteral | undefined {
    const sink = this.literalSinks.get(placeholder);
    return sink?.body ? { body: sink.body, hasNul: sink.hasNul } : undefined;
  }

  capabilities(): string[] {
    if (this.state.kind === 'authenticated' || this.state.kind === 'selected') {
      return sessionCapabilities({ appendLimit: this.imap.maxMessageBytes, messageLimit: messageLimitOf(this) });
    }
    return preAuthCapabilities({
      secure: this.connection.secure,
      tlsAvailable: this.imap.tlsAvailable,
      authAllowed: this.authAllowed(),
      scram: this.imap.scram,
    });
  }

  mailboxName(arg: string): string {
    return this.enabled.has('UTF8=ACCEPT') ? arg : decodeMailboxName(arg);
  }

  authAllowed(): boolean {
    return (
      this.connection.secure ||
      (this.imap.allowCleartextAuthFromLoopback && isLoopback(this.connection.remoteAddress))
    );
  }

  async readLine(): Promise<string | null> {
    const w = await this.wait(false, 0);
    return w.type === 'line' ? w.line : null;
  }

  waitLineOrSignal(ms: number): Promise<Wake> {
    return this.wait(true, ms);
  }

  async syncView(allowExpunge: boolean): Promise<void> {
    const s = this.state;
    if (s.kind !== 'selected') return this.flushNotify();
    this.signalPending = false;
    const lastUid = s.view.exists > 0 ? s.view.uidAt(s.view.exists) : 0;
    const contextSeqs = seqsBeforeSync(s.view);
    let responses: ImapResponse[];
    try {
      responses = await s.view.sync(this.imap.domain, {
        allowExpunge,
        condstore: this.enabled.has('CONDSTORE'),
        // RFC 9586 §3.2: a UIDONLY client gets VANISHED, never EXPUNGE.
        qresync: this.enabled.has('QRESYNC') || this.enabled.has('UIDONLY'),
      });
    } catch (err) {
      if (!isMailboxGone(err)) throw err;
      // The selected mailbox was deleted by another session: nothing it says can stay valid.
      await this.send({ type: 'status', tag: '*', status: 'BYE', text: 'Selected mailbox was deleted' });
      this.close();
      return;
    }
    responses = await recentAfterSync(this, s.view, responses);
    // RFC 5267 §4: ESEARCH ADDTO/REMOVEFROM for search contexts kept with RETURN (UPDATE).
    responses = await withContextUpdates(this, s.view, contextSeqs, responses);
    // One encode and one write (one TLS record) for EXISTS, RECENT and FETCH: a push to 2,000 sessions is 2,000 writes, not 4,000.
    await this.sendAll(responses);
    if (this.notify) {
      await sendNewMessageFetches(this, lastUid);
      await this.flushNotify();
    }
  }

  /** RFC 5465: STATUS and LIST responses about other mailboxes, at the same safe points as the view's. */
  private async flushNotify(): Promise<void> {
    const s = this.state;
    if (!this.notify || this.isClosed || (s.kind !== 'authenticated' && s.kind !== 'selected')) return;
    this.signalPending = false;
    const selectedId = s.kind === 'selected' ? s.view.mailbox.id : null;
    const responses = await this.notify.flush(this.imap.domain, s.account.id, selectedId, this.enabled.has('CONDSTORE'));
    for (const r of responses) await this.send(r);
  }

  loggedIn(account: Account): void {
    clearTimeout(this.loginDeadline);
    this.state = { kind: 'authenticated', account };
    this.accountAddress = account.address;
    this.accountLog = null;
    this.endSessionMetric ??= sessionStarted('imap');
    this.reader.setMaxNonSyncLiteralBytes(Number.POSITIVE_INFINITY);
    this.reader.setMaxAppendLiteralBytes(this.imap.maxMessageBytes);
    this.armTimeout();
    this.unsubscribe?.();
    const bus = this.imap.domain.bus;
    const wakeForSignal = () => {
      pushDelivered('imap');
      if (this.waiter?.wantSignal) this.wake({ type: 'signal' });
      else this.signalPending = true;
    };
    const domain = this.imap.domain;
    const offMailbox = bus.subscribe(account.id, (this.onMailboxSignal = (signal) => {
      // Before any session syncs on this signal: no one joins a change-log read that may predate it.
      noteMailboxChanged(domain, signal.mailboxId);
      const s = this.state;
      if (s.kind !== 'selected' || s.view.mailbox.id !== signal.mailboxId) {
        if (this.notify?.noteMailbox(signal.mailboxId)) wakeForSignal();
        return;
      }
      wakeForSignal();
    }));
    // RFC 5465 §5.4-5.5: mailbox list changes of other sessions, for NOTIFY.
    const offList = bus.subscribeMailboxList(account.id, (signal) => {
      if (signal.origin !== this.sessionId && this.notify?.noteList(signal)) wakeForSignal();
    });
    this.unsubscribe = () => {
      offMailbox();
      offList();
    };
  }

  followAccount(accountId: number): void {
    const listener = this.onMailboxSignal;
    const s = this.state;
    if (!listener || this.isClosed || this.followed.has(accountId) || (s.kind !== 'authenticated' && s.kind !== 'selected')) return;
    if (s.account.id === accountId) return;
    // Kept until logout: a session follows as many accounts as it selected shared mailboxes of.
    this.followed.set(accountId, this.imap.domain.bus.subscribe(accountId, listener));
  }

  async startTls(): Promise<void> {
    // RFC 9051 §6.2.1: anything the client sent after STARTTLS before the handshake is discarded.
    this.reader.reset();
    try {
      await this.connection.startTls();
    } catch (err) {
      this.log.info({ err }, 'TLS handshake failed');
      this.close();
    }
  }

  compressionActive = false;

  startCompression(): void {
    // RFC 4978 §3: the client sends nothing after COMPRESS until it has read the OK; stray bytes were not compressed.
    this.reader.reset();
    this.connection.startCompression();
    this.compressionActive = true;
  }

  close(): void {
    if (this.isClosed) return;
    this.connection.close();
    this.closed();
  }

  // ------------------------------------------------------------- internals

  private armTimeout(): void {
    const authenticated = this.state.kind === 'authenticated' || this.state.kind === 'selected';
    const ms = authenticated ? this.imap.authenticatedTimeoutMs : this.imap.unauthenticatedTimeoutMs;
    this.connection.setIdleTimeout(ms, () => {
      // A client waiting for our answer (a LOGIN whose password check is slow under load) is not idle.
      // Before login the login deadline still bounds the whole session, so waiting here costs nothing.
      if (!authenticated && this.running && !this.waiter && !this.isClosed) return this.armTimeout();
      void this.send({ type: 'status', tag: '*', status: 'BYE', text: 'Autologout; idle for too long' }).finally(() =>
        this.close(),
      );
    });
  }

  private wait(wantSignal: boolean, ms: number): Promise<Wake> {
    if (this.isClosed) return Promise.resolve({ type: 'closed' });
    if (wantSignal && this.signalPending) {
      this.signalPending = false;
      return Promise.resolve({ type: 'signal' });
    }
    this.reader.expectLine();
    return new Promise<Wake>((resolve) => {
      let timer: NodeJS.Timeout | null = null;
      this.waiter = {
        wantSignal,
        resolve: (w) => {
          if (timer) clearTimeout(timer);
          this.waiter = null;
          resolve(w);
        },
      };
      if (ms > 0) timer = setTimeout(() => this.wake({ type: 'timeout' }), ms);
      // The line may already be buffered (IDLE and DONE in one packet).
      this.busyBytes = 0;
      this.connection.resume();
      this.deliverLine();
    });
  }

  private wake(w: Wake): void {
    this.waiter?.resolve(w);
  }

  private deliverLine(): void {
    if (!this.waiter) return;
    const ev = this.reader.next();
    if (!ev) return;
    // A line over the limit comes back as 'bad': the waiting handler sees it as a wrong answer.
    this.wake({ type: 'line', line: ev.type === 'line' ? ev.line : '' });
  }

  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      await this.ready;
      while (!this.isClosed) {
        const ev = this.reader.next();
        if (!ev) break;
        await this.handleEvent(ev);
      }
    } catch (err) {
      this.log.error({ err }, 'imap session failed');
      this.close();
    } finally {
      this.running = false;
      this.busyBytes = 0;
      this.connection.resume();
    }
  }

  private async handleEvent(ev: ReaderEvent): Promise<void> {
    switch (ev.type) {
      case 'continue':
        await this.send({ type: 'continuation', text: 'Ready for literal data' });
        return;
      case 'literal-start':
        await this.startLiteral(ev.placeholder, ev.synchronising);
        return;
      case 'literal-data':
        await this.literalData(ev.chunk, ev.last);
        return;
      case 'bad': {
        await this.dropLiteralSinks();
        // RFC 9051 §7.1: an over-limit literal or line is refused with NO [TOOBIG]; it still counts as bad input.
        const status = ev.status ?? (ev.code === 'TOOBIG' ? 'NO' : 'BAD');
        await this.finish(ev.tag || '*', { status, text: ev.text, ...(ev.code ? { code: { name: ev.code } } : {}) }, true);
        return;
      }
      case 'line':
        await this.finish('*', { status: 'BAD', text: 'Unexpected continuation line' });
        return;
      case 'command':
        try {
          await this.run(ev.command);
        } finally {
          await this.dropLiteralSinks();
        }
        return;
    }
  }

  /** An APPEND literal about to arrive: a blob writer takes it; "+" for a synchronising one (the reader checked the limits). */
  private async startLiteral(placeholder: Buffer, synchronising: boolean): Promise<void> {
    const sink: LiteralSink = { writer: this.imap.domain.openBodyWriter({ crlf: false }), body: null, hasNul: false, failed: null };
    this.literalSinks.set(placeholder, sink);
    this.currentSink = sink;
    if (synchronising) await this.send({ type: 'continuation', text: 'Ready for literal data' });
  }

  /** The next piece of the literal into its writer (awaiting it is the backpressure); after a failure the rest is read and dropped. */
  private async literalData(chunk: Buffer, last: boolean): Promise<void> {
    const sink = this.currentSink;
    if (!sink) return;
    if (!sink.failed) {
      if (chunk.includes(0)) sink.hasNul = true;
      try {
        await sink.writer.write(chunk);
      } catch (err) {
        sink.failed = err;
      }
    }
    if (!last) return;
    this.currentSink = null;
    sink.body = sink.failed ? Promise.reject(sink.failed) : sink.writer.finish();
    // Observed here: the APPEND handler awaits it, or dropLiteralSinks releases it.
    sink.body.catch(() => {});
  }

  /** After the command (or its failure, or a disconnect): every streamed body is released or aborted, once. */
  private async dropLiteralSinks(): Promise<void> {
    const sinks = [...this.literalSinks.values()];
    this.literalSinks.clear();
    this.currentSink = null;
    for (const sink of sinks) {
      try {
        if (!sink.body) await sink.writer.abort();
        else await this.imap.domain.releaseBodies([await sink.body]);
      } catch (err) {
        if (!sink.failed) this.log.warn({ err }, 'dropping a streamed APPEND literal failed');
      }
    }
  }

  private async run(command: ImapCommand): Promise<void> {
    const spec = findCommand(command);
    if (!spec) {
      await this.finish(command.tag, { status: 'BAD', text: `${command.name} is not supported` });
      return;
    }
    if (!spec.states.includes(this.state.kind)) {
      await this.finish(command.tag, { status: 'BAD', text: wrongStateText(spec, this.state.kind) });
      return;
    }
    const refused = uidOnlyRefusal(command, spec, this);
    if (refused) {
      await this.finish(command.tag, refused);
      return;
    }
    if (this.imap.log.isLevelEnabled('debug')) this.log.debug({ command: spec.key }, 'imap command');
    let done: Completion;
    const timed = commandStarted('imap', spec.key);
    const idling = spec.key === 'IDLE' ? idleStarted() : null;
    try {
      // RFC 4314 §4: the rights the command needs on another account's mailbox (acl-check.ts).
      done = (await checkRights(command, this)) ?? (await runWithinMessageLimit(spec, command, this));
    } catch (err) {
      done = errorCompletion(err, this.log);
    }
    timed();
    idling?.();
    // RFC 9051 §7.5.1: no EXPUNGE while responding to FETCH, STORE or SEARCH; other changes may go out.
    if ((this.state.kind === 'selected' || (this.notify && this.state.kind === 'authenticated')) && !this.isClosed) {
      try {
        await this.syncView(!spec.holdsExpunges);
      } catch (err) {
        this.log.error({ err }, 'mailbox sync failed');
      }
    }
    // RFC 7162 §3.2.7: the tagged OK of EXPUNGE / UID EXPUNGE carries HIGHESTMODSEQ, since the client cannot
    // learn it from MODSEQ items (expunged messages have none). Done for any CONDSTORE client; it costs nothing.
    if (spec.breaksSeqs && done.status === 'OK' && !done.code && this.enabled.has('CONDSTORE') && this.state.kind === 'selected') {
      done = { ...done, code: { name: 'HIGHESTMODSEQ', value: this.state.view.highestModSeq } };
    }
    if (!done.answered) await this.finish(command.tag, done);
    if (done.status === 'OK' && !done.answered) crashPointAfterImapReply(spec.key);
    if (this.state.kind === 'logout') this.close();
  }

  private async finish(tag: string, done: Completion, badInput = false): Promise<void> {
    await this.send({ type: 'status', tag, status: done.status, ...(done.code ? { code: done.code } : {}), text: done.text });
    if (done.status !== 'BAD' && !badInput) {
      this.badInARow = 0;
      return;
    }
    if (++this.badInARow >= limits.maxBadCommands) {
      await this.send({ type: 'status', tag: '*', status: 'BYE', text: 'Too many invalid commands' });
      this.close();
    }
  }
}

interface LiteralSink {
  writer: BodyWriter;
  /** Set once the literal's last octet was written. */
  body: Promise<StagedBody> | null;
  hasNul: boolean;
  failed: unknown;
}
