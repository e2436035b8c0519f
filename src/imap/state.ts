/**
 * The types shared by the session and its command handlers: the session state
 * as a discriminated union (a selected-state handler cannot run without a
 * view), the context a handler works with, and a handler's tagged result.
 */
import type { StagedBody } from '../domain/staged-body.js';
import type { MailDomain } from '../domain/mail-domain.js';
import type { Connection } from '../session/connection.js';
import type { Logger } from '../observability/log.js';
import type { ImapCommand, ImapResponse, ResponseCode } from '../protocol/imap/types.js';
import type { Account } from '../store/types.js';
import type { SessionNotify } from './notify.js';
import type { MailboxView } from './view.js';

export interface ImapContext {
  domain: MailDomain;
  log: Logger;
  hostname: string;
  /** STARTTLS may be offered (plain listener with a certificate). */
  tlsAvailable: boolean;
  /** Config switch, default false: allow LOGIN/AUTHENTICATE without TLS from 127.0.0.0/8 and ::1. */
  allowCleartextAuthFromLoopback: boolean;
  /**
   * Delay before answering a failed authentication (slows guessing); tests pass ~10. The node's
   * login throttle (`domain.loginThrottle`) grows it per source and account; without one, it is fixed.
   */
  authFailureDelayMs: number;
  /** `[auth] scram`: offer AUTHENTICATE SCRAM-SHA-256 (default true). */
  scram?: boolean;
  /** "* OK Still here" period in IDLE, default 120000: keeps carrier NAT mappings alive. */
  idleKeepaliveMs: number;
  /** 60000: an unauthenticated client has no reason to sit idle. */
  unauthenticatedTimeoutMs: number;
  /** RFC 9051 §5.4: at least 30 minutes. */
  authenticatedTimeoutMs: number;
  /** Largest message APPEND accepts. */
  maxMessageBytes: number;
  /** RFC 9738 MESSAGELIMIT announced and applied (message-limit.ts); default limits.imapMessageLimit. */
  messageLimit?: number;
}

export type SessionState =
  | { kind: 'not-authenticated'; failures: number }
  | { kind: 'authenticated'; account: Account }
  | { kind: 'selected'; account: Account; view: MailboxView }
  | { kind: 'logout' };

export type StateKind = SessionState['kind'];
export type SelectedState = Extract<SessionState, { kind: 'selected' }>;
export type AuthenticatedState = Extract<SessionState, { kind: 'authenticated' }>;

/** The tagged completion of a command; the session writes it with the command's tag. */
export interface Completion {
  status: 'OK' | 'NO' | 'BAD';
  code?: ResponseCode;
  text: string;
  /** The handler already wrote the tagged reply (STARTTLS: it must precede the handshake). */
  answered?: boolean;
}

/** An APPEND literal written to the store as it arrived (see CommandContext.streamedLiteral). */
export interface StreamedLiteral {
  /** The committed body with its summary; rejects when writing failed. */
  readonly body: Promise<StagedBody>;
  /** The literal held a NUL octet (RFC 9051 §4.3 CHAR8 excludes it). */
  readonly hasNul: boolean;
}

/** What a handler may read or do; implemented by the session. */
export interface CommandContext {
  readonly imap: ImapContext;
  readonly connection: Connection;
  readonly log: Logger;
  readonly state: SessionState;
  setState(state: SessionState): void;
  /** Encode and write one response (honours backpressure). */
  send(response: ImapResponse): Promise<void>;
  /** Encode several responses and write them as one chunk (one write, fewer TLS records; honours backpressure). */
  sendAll(responses: readonly ImapResponse[]): Promise<void>;
  /** Extensions turned on by ENABLE (upper case), e.g. 'IMAP4REV2', 'UTF8=ACCEPT'. */
  readonly enabled: Set<string>;
  /**
   * The body an APPEND literal was streamed into (the reader's placeholder
   * Buffer for it in the command), or undefined for a literal held in memory.
   * The session releases it after the command, appended or not.
   */
  streamedLiteral?(placeholder: Buffer): StreamedLiteral | undefined;
  /** The capabilities to announce in the current state. */
  capabilities(): string[];
  /** Client mailbox argument -> store name: modified UTF-7 decoded unless UTF8=ACCEPT is enabled. */
  mailboxName(arg: string): string;
  /** True when LOGIN/AUTHENTICATE may be used now (TLS, or loopback when configured). */
  authAllowed(): boolean;
  /** Wait for the next raw line from the client (AUTHENTICATE continuation); null when the connection closed. */
  readLine(): Promise<string | null>;
  /**
   * Wait for whichever comes first: a raw line, a change signal for the
   * selected mailbox, or `ms` elapsing. Used by IDLE.
   */
  waitLineOrSignal(ms: number): Promise<{ type: 'line'; line: string } | { type: 'signal' } | { type: 'timeout' } | { type: 'closed' }>;
  /** Bring the selected view up to date and write EXISTS / FETCH (and EXPUNGE when allowed). */
  syncView(allowExpunge: boolean): Promise<void>;
  /** Called after authentication: switch state, timers and bus subscription. */
  loggedIn(account: Account): void;
  /** STARTTLS after its OK was written: drop buffered input and upgrade. */
  startTls(): Promise<void>;
  /** COMPRESS=DEFLATE after its OK was written (RFC 4978): all further bytes are deflated. */
  startCompression(): void;
  /** True once COMPRESS succeeded. */
  readonly compressionActive: boolean;
  /** Close the connection after the current responses. */
  close(): void;
  /** Unique per connection: names this session as the origin of mailbox list changes on the bus. */
  readonly sessionId: string;
  /** RFC 5465 NOTIFY SET in force, or null (base IMAP: only the selected mailbox is reported). */
  notify: SessionNotify | null;
  /** Also hear the bus signals of another account, whose mailbox (shared with this user) is being selected (acl-check.ts). */
  followAccount?(accountId: number): void;
}

export type CommandOf<N extends ImapCommand['name']> = ImapCommand extends infer C
  ? C extends { name: infer M }
    ? N extends M
      ? C
      : never
    : never
  : never;

export function ok(text: string, code?: ResponseCode): Completion {
  return code ? { status: 'OK', code, text } : { status: 'OK', text };
}
export function no(text: string, code?: ResponseCode): Completion {
  return code ? { status: 'NO', code, text } : { status: 'NO', text };
}
export function bad(text: string, code?: ResponseCode): Completion {
  return code ? { status: 'BAD', code, text } : { status: 'BAD', text };
}

/** The registry guarantees the state; this narrows it for the type checker. */
export function selectedState(ctx: CommandContext): SelectedState {
  const s = ctx.state;
  if (s.kind !== 'selected') throw new Error('command requires the selected state');
  return s;
}

export function accountOf(ctx: CommandContext): Account {
  const s = ctx.state;
  if (s.kind !== 'authenticated' && s.kind !== 'selected') throw new Error('command requires authentication');
  return s.account;
}
