/**
 * A POP3 session (RFC 1939) as a state machine fed with bytes. States are a
 * discriminated union carrying their data, so a TRANSACTION command cannot run
 * without a maildrop. Commands run strictly one at a time in arrival order
 * (RFC 2449 §6.6 PIPELINING): while one awaits the store, later lines wait in
 * the line reader, and the socket is paused when too much piles up.
 *
 * Every change happens only in the UPDATE state, entered by QUIT: deletions
 * through the account's POP3 policy, $POP3Downloaded on retrieved mail, the
 * device's state. A session that ends any other way (peer gone, timeout,
 * shutdown, too many errors) changes nothing and only releases the maildrop
 * lock (RFC 1939 §6).
 */
import type { Connection, Session } from '../session/connection.js';
import type { MailDomain } from '../domain/mail-domain.js';
import type { Logger } from '../observability/log.js';
import { crashPoint } from '../observability/fault.js';
import type { Account, AccountId } from '../store/types.js';
import { commitPop3Session, expireCapability, pop3PolicyOf, type Pop3Policy } from '../domain/pop3-policy.js';
import { limits } from '../protocol/limits.js';
import {
  encodePop3Response,
  err,
  ok,
  parsePop3Command,
  Pop3LineReader,
  type Pop3Command,
  type Pop3Response,
  type ReadLine,
} from '../protocol/pop3/index.js';
import { Maildrop } from './maildrop.js';
import { pop3ErrorFor, updateFailed } from './errors.js';
import { capabilities, stlsOffered } from './policy.js';
import { runTransactionCommand, type Pop3Output } from './transaction.js';
import type { Pop3Identity } from './auth.js';
import { Pop3Authenticator } from './auth.js';
import { commandStarted, sessionStarted } from '../observability/metrics.js';

export interface Pop3Context {
  domain: MailDomain;
  /** Never given passwords or AUTH payloads. */
  log: Logger;
  /** For the greeting. */
  hostname: string;
  /** STLS may be offered (plain listener with a certificate). */
  tlsAvailable: boolean;
  /** Config switch, default false: allow USER/PASS/AUTH without TLS from 127.0.0.0/8 and ::1. */
  allowCleartextAuthFromLoopback: boolean;
  /** Delay before answering a failed login: slows password guessing. */
  authFailureDelayMs: number;
  /** RFC 1939 §3: the autologout timer must be at least 10 minutes (600000 in production). */
  idleTimeoutMs: number;
  /** Before login a client has less reason to sit idle (60000 in production). */
  unauthenticatedTimeoutMs: number;
}

type Pop3State =
  | { kind: 'AUTHORIZATION' }
  | { kind: 'TRANSACTION'; account: Account; device: string; policy: Pop3Policy; maildrop: Maildrop }
  | { kind: 'UPDATE'; account: Account };

/** Which state each command belongs to (RFC 1939 §4-§6, RFC 2449 CAPA in both, RFC 2595 STLS before login). */
const COMMAND_STATES: Record<Pop3Command['name'], 'AUTHORIZATION' | 'TRANSACTION' | 'ANY'> = {
  CAPA: 'ANY',
  NOOP: 'TRANSACTION',
  QUIT: 'ANY',
  STLS: 'AUTHORIZATION',
  USER: 'AUTHORIZATION',
  PASS: 'AUTHORIZATION',
  AUTH: 'AUTHORIZATION',
  STAT: 'TRANSACTION',
  LIST: 'TRANSACTION',
  UIDL: 'TRANSACTION',
  RETR: 'TRANSACTION',
  TOP: 'TRANSACTION',
  DELE: 'TRANSACTION',
  RSET: 'TRANSACTION',
};

/** A connection must log in within this many unauthenticated-idle periods (3 minutes by default). */
const LOGIN_DEADLINE_FACTOR = 3;

/** Pause the socket when this much unprocessed input is queued; resume below half of it. */
const PAUSE_INPUT_BYTES = 1024 * 1024;

export function createPop3Session(connection: Connection, ctx: Pop3Context): Session {
  return new Pop3Session(connection, ctx);
}

class Pop3Session implements Session, Pop3Output {
  private state: Pop3State = { kind: 'AUTHORIZATION' };
  private readonly reader = new Pop3LineReader(limits.pop3MaxLineBytes);
  private readonly log: Logger;
  private readonly loginDeadline: NodeJS.Timeout;
  private readonly auth: Pop3Authenticator;
  private running = false;
  /** Ends this session's count in the metrics (from login to the end). */
  private endSessionMetric: (() => void) | null = null;
  private paused = false;
  private badCommands = 0;
  private locked: { accountId: AccountId; device: string } | null = null;
  ended = false;

  constructor(
    private readonly connection: Connection,
    private readonly ctx: Pop3Context,
  ) {
    this.log = ctx.log.child({ protocol: 'pop3', remote: connection.remoteAddress });
    this.auth = new Pop3Authenticator(connection, ctx, this);
    connection.setIdleTimeout(ctx.unauthenticatedTimeoutMs, () => this.onIdleTimeout());
    // The idle timer restarts on every line, so a client trickling NOOP-like junk would stay in
    // AUTHORIZATION forever; this deadline ends that whatever it sends (as Dovecot does).
    this.loginDeadline = setTimeout(() => {
      if (this.state.kind === 'AUTHORIZATION' && !this.ended) this.sayAndClose(err('Too long without logging in'));
    }, LOGIN_DEADLINE_FACTOR * ctx.unauthenticatedTimeoutMs);
    this.loginDeadline.unref();
    void this.reply(ok('Mailstead POP3 ready'));
  }

  // ------------------------------------------------------------ Session port

  feed(chunk: Buffer): void {
    if (this.ended) return;
    this.reader.push(chunk);
    if (!this.paused && this.reader.bufferedBytes > PAUSE_INPUT_BYTES) {
      this.paused = true;
      this.connection.pause();
    }
    void this.pump();
  }

  closed(): void {
    if (!this.ended) this.log.info({ state: this.state.kind }, 'connection closed by peer');
    this.finish();
  }

  async shutdown(): Promise<void> {
    // A QUIT already in UPDATE finishes its deletions and says goodbye itself.
    if (this.ended || this.state.kind === 'UPDATE') return;
    this.sayAndClose(err('Server shutting down'));
  }

  // ---------------------------------------------------------- Pop3Output port

  async reply(response: Pop3Response): Promise<void> {
    await this.write(Buffer.from(encodePop3Response(response), 'utf8'));
  }

  async write(bytes: Buffer): Promise<void> {
    if (this.ended) return;
    try {
      await this.connection.write(bytes);
    } catch (error) {
      this.log.debug({ err: error }, 'write failed; ending session');
      this.finish();
    }
  }

  // ------------------------------------------------------------ input pump

  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (let line = this.reader.next(); line !== null && !this.ended; line = this.reader.next()) {
        await this.handleLine(line);
        if (this.paused && this.reader.bufferedBytes < PAUSE_INPUT_BYTES / 2) {
          this.paused = false;
          this.connection.resume();
        }
      }
    } catch (error) {
      this.log.error({ err: error }, 'POP3 session failed');
      this.sayAndClose(err('Internal server error', 'SYS/TEMP'));
    } finally {
      this.running = false;
    }
  }

  private async handleLine(line: ReadLine): Promise<void> {
    let succeeded: boolean;
    if (this.auth.awaitingSaslResponse) {
      const identity = await this.auth.saslResponse(line);
      succeeded = identity === false ? false : await this.login(identity);
    } else if (typeof line !== 'string') {
      await this.reply(err('Line too long'));
      succeeded = false;
    } else {
      const command = parsePop3Command(line);
      if ('error' in command) {
        await this.reply(err(command.error));
        succeeded = false;
      } else {
        this.log.debug({ command: command.name }, 'command');
        succeeded = await this.runCommand(command);
      }
    }
    if (this.ended) return;
    if (this.auth.exhausted && this.state.kind === 'AUTHORIZATION') {
      // The reply to the last allowed failure was written; one connection may not go on guessing.
      this.log.info({ failures: this.auth.failures }, 'connection closed after too many authentication failures');
      this.finish();
      this.connection.close();
      return;
    }
    this.badCommands = succeeded ? 0 : this.badCommands + 1;
    if (this.badCommands >= limits.maxBadCommands) this.sayAndClose(err('Too many bad commands'));
  }

  private async runCommand(command: Pop3Command): Promise<boolean> {
    const allowed = COMMAND_STATES[command.name];
    if (allowed !== 'ANY' && allowed !== this.state.kind) {
      const when = allowed === 'TRANSACTION' ? 'before login' : 'after login';
      await this.reply(err(`${command.name} is not allowed ${when}`));
      return false;
    }
    const timed = commandStarted('pop3', command.name);
    try {
      return await this.dispatch(command);
    } catch (error) {
      const mapped = pop3ErrorFor(error);
      if (mapped.unexpected) this.log.error({ err: error, command: command.name }, 'POP3 command failed');
      else this.log.warn({ err: error, command: command.name }, 'POP3 command failed');
      await this.reply(mapped.response);
      return false;
    } finally {
      timed();
    }
  }

  private async dispatch(command: Pop3Command): Promise<boolean> {
    const state = this.state;
    switch (command.name) {
      case 'CAPA':
        await this.reply(ok('Capability list follows', this.capabilityLines()));
        return true;
      case 'NOOP':
        await this.reply(ok(''));
        return true;
      case 'QUIT':
        await this.quit();
        return true;
      case 'STLS':
        return this.startTls();
      case 'USER':
      case 'PASS':
      case 'AUTH': {
        const identity = await this.auth.run(command);
        return identity === false ? false : identity === null ? true : this.login(identity);
      }
      default:
        if (state.kind !== 'TRANSACTION') return false; // unreachable: COMMAND_STATES checked it
        return runTransactionCommand(command, state.maildrop, this);
    }
  }

  // ----------------------------------------------------- state transitions

  private async startTls(): Promise<boolean> {
    if (!stlsOffered(this.connection, this.ctx)) {
      await this.reply(err(this.connection.secure ? 'TLS is already active' : 'STLS is not available'));
      return false;
    }
    await this.reply(ok('Begin TLS negotiation'));
    // RFC 2595 §4: anything the client pipelined after STLS was sent in the clear; drop it.
    this.reader.reset();
    this.auth.reset();
    try {
      await this.connection.startTls();
      this.log.info({ tls: this.connection.tlsInfo }, 'TLS started');
      return true;
    } catch (error) {
      this.log.info({ err: error }, 'TLS handshake failed');
      this.finish();
      return false;
    }
  }

  private capabilityLines(): string[] {
    const state = this.state;
    const expire = state.kind === 'TRANSACTION' ? expireCapability(state.policy) : undefined;
    return capabilities(this.connection, this.ctx, state.kind !== 'AUTHORIZATION', expire);
  }

  /** AUTHORIZATION -> TRANSACTION: lock this device's maildrop, take the snapshot (RFC 1939 §4). */
  private async login({ account, device }: Pop3Identity): Promise<boolean> {
    if (!(await this.ctx.domain.tryLockMaildrop(account.id, device))) {
      this.log.info({ user: account.address, device }, 'maildrop locked by another session');
      this.sayAndClose(err('Mailbox is locked by another POP3 session', 'IN-USE'));
      return false;
    }
    this.locked = { accountId: account.id, device };
    if (this.ended) {
      this.releaseLock(); // the peer left while the lock was taken: finish() found nothing to release
      return false;
    }
    let maildrop: Maildrop;
    let policy: Pop3Policy;
    try {
      policy = await pop3PolicyOf(this.ctx.domain, account.id);
      maildrop = await Maildrop.open(this.ctx.domain, account.id, device, policy);
    } catch (error) {
      const mapped = pop3ErrorFor(error);
      this.log.error({ err: error, user: account.address }, 'could not open maildrop');
      this.sayAndClose(mapped.response);
      return false;
    }
    if (this.ended) {
      maildrop.close();
      return false; // the peer left while the snapshot was taken; finish() unlocked
    }
    this.state = { kind: 'TRANSACTION', account, device, policy, maildrop };
    this.endSessionMetric ??= sessionStarted('pop3');
    this.connection.setIdleTimeout(this.ctx.idleTimeoutMs, () => this.onIdleTimeout());
    this.log.info({ user: account.address, device, messages: maildrop.live().length }, 'POP3 login');
    await this.reply(ok('Logged in'));
    return true;
  }

  /** QUIT: in TRANSACTION, the UPDATE state applies the marks through the POP3 policy (RFC 1939 §6). */
  private async quit(): Promise<void> {
    const state = this.state;
    if (state.kind !== 'TRANSACTION') {
      this.sayAndClose(ok('Bye'));
      return;
    }
    this.state = { kind: 'UPDATE', account: state.account };
    state.maildrop.close();
    this.connection.setIdleTimeout(0, () => {});
    const deleted = state.maildrop.deleted();
    const retrieved = state.maildrop.retrieved();
    let response: Pop3Response;
    try {
      // Through the domain: each change commits, then signals the bus so IMAP sessions report EXPUNGE / FLAGS.
      await commitPop3Session(
        this.ctx.domain,
        { accountId: state.account.id, device: state.device, policy: state.policy, retrieved, deleted },
        new Date(),
      );
      response = ok(`Bye, ${deleted.length} messages deleted`);
      this.log.info(
        { user: state.account.address, device: state.device, deleted: deleted.length, retrieved: retrieved.length },
        'POP3 logout',
      );
    } catch (error) {
      const mapped = updateFailed(error);
      this.log.error({ err: error, user: state.account.address }, 'POP3 update failed');
      response = mapped.response;
    } finally {
      this.releaseLock();
    }
    this.sayAndClose(response);
    if (response.kind === 'ok') crashPoint('pop3.update.reply-sent');
  }

  private onIdleTimeout(): void {
    if (this.ended || this.state.kind === 'UPDATE') return;
    // A client waiting for our answer (a PASS whose check is slow under load) is not idle; before
    // login the login deadline still bounds the session.
    if (this.state.kind === 'AUTHORIZATION' && this.running) {
      this.connection.setIdleTimeout(this.ctx.unauthenticatedTimeoutMs, () => this.onIdleTimeout());
      return;
    }
    this.log.info({ state: this.state.kind }, 'autologout');
    this.sayAndClose(err('Autologout; idle for too long'));
  }

  // ------------------------------------------------------------- ending

  /** Writes a last reply, closes, and ends the session without deleting anything. */
  private sayAndClose(response: Pop3Response): void {
    if (this.ended) return;
    this.connection.write(encodePop3Response(response)).catch(() => {});
    this.finish();
    this.connection.close();
  }

  /** Idempotent end: stop timers, release the lock unless UPDATE still needs it. */
  private finish(): void {
    clearTimeout(this.loginDeadline);
    this.endSessionMetric?.();
    if (this.state.kind === 'TRANSACTION') this.state.maildrop.close();
    if (!this.ended) {
      this.ended = true;
      this.reader.reset();
      this.connection.setIdleTimeout(0, () => {});
    }
    if (this.state.kind !== 'UPDATE') this.releaseLock();
  }

  private releaseLock(): void {
    if (this.locked === null) return;
    const { accountId, device } = this.locked;
    this.locked = null;
    this.ctx.domain.unlockMaildrop(accountId, device).catch((error: unknown) => {
      this.log.error({ err: error, device }, 'could not release the maildrop lock');
    });
  }
}
