/**
 * The AUTHORIZATION state's login commands: USER/PASS (RFC 1939 §7) and
 * AUTH PLAIN (RFC 5034, RFC 4616), behind the cleartext policy of RFC 2595.
 * Returns the account and the device tag on success (`alice@example.com#laptop`
 * logs in to alice's account as device "laptop", with alice's password); the
 * session then locks that device's maildrop. Passwords and SASL payloads are
 * never logged. Every password check goes through the node's login throttle
 * (domain/login-throttle.ts); a blocked source gets -ERR [SYS/TEMP] without
 * its password being checked, and the third failure ends the connection.
 */
import type { Connection } from '../session/connection.js';
import type { Account } from '../store/types.js';
import { decodePlain } from '../protocol/sasl/plain.js';
import { err, ok, type Pop3Command, type ReadLine } from '../protocol/pop3/index.js';
import type { Pop3Context } from './session.js';
import type { Pop3Output } from './transaction.js';
import { cleartextAuthAllowed } from './policy.js';
import { parsePop3Login } from '../domain/pop3-policy.js';
import { LoginThrottle, type LoginOutcome, MAX_AUTH_FAILURES_PER_CONNECTION } from '../domain/login-throttle.js';
import { loginAttempted } from '../observability/metrics.js';

type LoginCommand = Extract<Pop3Command, { name: 'USER' | 'PASS' | 'AUTH' }>;

export interface Pop3Identity {
  account: Account;
  /** '' for an untagged login. */
  device: string;
}

/** Identity: logged in. null: the step succeeded, no login yet. false: the step failed. */
export type AuthStep = Pop3Identity | null | false;

const SUPPORTED_MECHANISMS = ['PLAIN'];

export class Pop3Authenticator {
  /** USER given, PASS expected next. */
  private pendingUser: string | null = null;
  /** AUTH PLAIN sent "+ ": the next line is the client's response, not a command. */
  awaitingSaslResponse = false;
  /** Failed logins on this connection; at MAX_AUTH_FAILURES_PER_CONNECTION the session closes. */
  failures = 0;

  /** True once the connection has used up its failed logins: the session must close it. */
  get exhausted(): boolean {
    return this.failures >= MAX_AUTH_FAILURES_PER_CONNECTION;
  }

  constructor(
    private readonly connection: Connection,
    private readonly ctx: Pop3Context,
    private readonly out: Pop3Output,
  ) {}

  /** Forget half-done logins (after STLS, RFC 2595 §4). */
  reset(): void {
    this.pendingUser = null;
    this.awaitingSaslResponse = false;
  }

  async run(command: LoginCommand): Promise<AuthStep> {
    if (!cleartextAuthAllowed(this.connection, this.ctx)) {
      this.pendingUser = null;
      await this.out.reply(err('Plaintext authentication disallowed on non-secure connections; use STLS', 'AUTH'));
      return false;
    }
    switch (command.name) {
      case 'USER':
        // Accepted whatever the name: RFC 1939 §13 warns that refusing here tells an attacker which names exist.
        this.pendingUser = command.args.user;
        await this.out.reply(ok('Send your password'));
        return null;
      case 'PASS': {
        const user = this.pendingUser;
        this.pendingUser = null;
        if (user === null) {
          await this.out.reply(err('Send USER first'));
          return false;
        }
        return this.verify(user, command.args.password, 'USER');
      }
      case 'AUTH':
        return this.authCommand(command.args);
    }
  }

  /** The line after "+ ": "*" cancels (RFC 5034 §4), anything else is the PLAIN response. */
  async saslResponse(line: ReadLine): Promise<Pop3Identity | false> {
    this.awaitingSaslResponse = false;
    if (typeof line !== 'string') {
      await this.out.reply(err('Authentication response too long'));
      return false;
    }
    if (line.trim() === '*') {
      await this.out.reply(err('Authentication cancelled'));
      return false;
    }
    return this.plain(line);
  }

  private async authCommand(args: { mechanism?: string; initialResponse?: string }): Promise<AuthStep> {
    this.pendingUser = null;
    if (args.mechanism === undefined) {
      // "AUTH" alone lists the mechanisms (the pre-RFC 5034 form some clients still probe with).
      await this.out.reply(ok('Supported mechanisms follow', SUPPORTED_MECHANISMS));
      return null;
    }
    if (!SUPPORTED_MECHANISMS.includes(args.mechanism)) {
      await this.out.reply(err('Unsupported authentication mechanism'));
      return false;
    }
    if (args.initialResponse === undefined) {
      this.awaitingSaslResponse = true;
      await this.out.reply({ kind: 'continue', challenge: '' });
      return null;
    }
    return this.plain(args.initialResponse);
  }

  private async plain(response: string): Promise<Pop3Identity | false> {
    const credentials = decodePlain(response);
    if ('error' in credentials) {
      await this.out.reply(err(credentials.error));
      return false;
    }
    // Acting as another user (authzid) is not offered: only the empty authzid or oneself (with or without the device tag).
    const authzid = credentials.authzid.toLowerCase();
    const self = [credentials.authcid.toLowerCase(), parsePop3Login(credentials.authcid).address.toLowerCase()];
    if (authzid !== '' && !self.includes(authzid)) {
      // Refused before any password check: counted on this connection, not in the throttle.
      await new Promise((resolve) => setTimeout(resolve, this.ctx.authFailureDelayMs));
      return this.failed(credentials.authcid, 'PLAIN', {
        status: 'failed',
        note: { replyDelayMs: 0, sourceFailures: 0, shouldLog: true, blockStarted: null },
      });
    }
    return this.verify(credentials.authcid, credentials.password, 'PLAIN');
  }

  private async verify(user: string, password: string, mechanism: string): Promise<Pop3Identity | false> {
    const login = parsePop3Login(user);
    const throttle = this.ctx.domain.loginThrottle ?? LoginThrottle.fixedDelay(this.ctx.authFailureDelayMs);
    const outcome = await this.ctx.domain.passwordLogin(throttle, this.connection.remoteAddress, login.address, password);
    loginAttempted('pop3', outcome.status);
    if (outcome.status !== 'ok') return this.failed(user, mechanism, outcome);
    return { account: outcome.value, device: login.device };
  }

  /** The reply to a failed login (its delay was already waited); the same words for unknown users and wrong passwords. */
  private async failed(user: string, mechanism: string, outcome: Exclude<LoginOutcome<unknown>, { status: 'ok' }>): Promise<false> {
    this.failures++;
    const remote = this.connection.remoteAddress;
    // The attempted name is logged (bounded), never the password.
    const fields = { user: user.slice(0, 256), mechanism, remote };
    if (outcome.status === 'refused') {
      // Every refusal is bounded by the per-connection limit; the block itself was logged when it started.
      this.ctx.log.debug({ ...fields, blocked: outcome.reason }, 'POP3 login refused by the throttle');
      // RFC 3206 §4 SYS/TEMP: a temporary refusal, so the client keeps the password and tries later.
      await this.out.reply(err(outcome.reason === 'busy' ? 'Server busy; try again later' : 'Too many failed logins; try again later', 'SYS/TEMP'));
      return false;
    }
    const { note } = outcome;
    if (note.shouldLog) this.ctx.log.info({ ...fields, failures: note.sourceFailures }, 'POP3 authentication failed');
    if (note.blockStarted) this.ctx.log.warn({ ...fields, blocked: note.blockStarted }, 'login throttle: block started');
    // RFC 2449 §8.1 / RFC 3206: [AUTH] says the credentials, not the server, are the problem.
    await this.out.reply(err(this.exhausted ? 'Authentication failed; too many failures, closing' : 'Authentication failed', 'AUTH'));
    return false;
  }
}
