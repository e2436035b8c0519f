/**
 * STARTTLS, LOGIN and AUTHENTICATE PLAIN and SCRAM-SHA-256 (RFC 9051 §6.2,
 * RFC 4616, RFC 7677, SASL-IR RFC 4959). Credentials never reach the logger.
 * Every password check goes through the node's login throttle
 * (domain/login-throttle.ts): failures are answered after a growing delay,
 * a blocked source gets NO [UNAVAILABLE] without its password being checked,
 * and the third failure on a connection ends it with * BYE.
 */
import { randomBytes } from 'node:crypto';
import { LoginThrottle, type LoginOutcome, MAX_AUTH_FAILURES_PER_CONNECTION, throttleSleep } from '../../domain/login-throttle.js';
import { normaliseAddress } from '../../domain/mail-domain.js';
import { scramCredentials } from '../../domain/passwords.js';
import { decodePlain } from '../../protocol/sasl/plain.js';
import { decoyCredentials, SCRAM_MECHANISM, scramServerFinal, scramServerFirst } from '../../protocol/sasl/scram.js';
import type { Account } from '../../store/types.js';
import { loginAttempted } from '../../observability/metrics.js';
import type { CommandContext, CommandOf, Completion } from '../state.js';
import { bad, no, ok } from '../state.js';

const PRIVACY_REQUIRED: Completion = no('Cleartext authentication is disabled; use STARTTLS or port 993', {
  name: 'PRIVACYREQUIRED',
});

export async function starttlsCommand(cmd: CommandOf<'STARTTLS'>, ctx: CommandContext): Promise<Completion> {
  if (ctx.connection.secure) return bad('TLS is already active');
  if (!ctx.imap.tlsAvailable) return bad('STARTTLS is not available');
  // The OK must go out in plain text before the handshake (RFC 9051 §6.2.1).
  await ctx.send({ type: 'status', tag: cmd.tag, status: 'OK', text: 'Begin TLS negotiation now' });
  await ctx.startTls();
  return { status: 'OK', text: 'Begin TLS negotiation now', answered: true };
}

export async function loginCommand(cmd: CommandOf<'LOGIN'>, ctx: CommandContext): Promise<Completion> {
  if (!ctx.authAllowed()) return PRIVACY_REQUIRED;
  const outcome = await ctx.imap.domain.passwordLogin(throttleOf(ctx), ctx.connection.remoteAddress, cmd.username, cmd.password);
  return finishAuth(ctx, cmd.tag, outcome, { user: cmd.username, mechanism: 'LOGIN' });
}

/** The SASL mechanisms AUTHENTICATE offers, as announced in CAPABILITY (AUTH=...). */
export const SASL_MECHANISMS = ['PLAIN', SCRAM_MECHANISM];

/** SCRAM-SHA-256 only while `[auth] scram` is on: with it off no SCRAM keys are stored. */
function mechanismsOf(ctx: CommandContext): string[] {
  return ctx.imap.scram === false ? ['PLAIN'] : SASL_MECHANISMS;
}

export async function authenticateCommand(cmd: CommandOf<'AUTHENTICATE'>, ctx: CommandContext): Promise<Completion> {
  const mechanism = cmd.mechanism.toUpperCase();
  if (!mechanismsOf(ctx).includes(mechanism)) return no(`Unsupported authentication mechanism ${cmd.mechanism}`);
  if (!ctx.authAllowed()) return PRIVACY_REQUIRED;
  // RFC 9051 §6.2.2: without an initial response the server sends an empty challenge first.
  const response = cmd.initialResponse ?? (await challenge(ctx, ''));
  if (typeof response !== 'string') return response;
  return mechanism === 'PLAIN' ? authenticatePlain(cmd.tag, response, ctx) : authenticateScram(cmd.tag, response, ctx);
}

/** Sends "+ challenge" and reads the client's line; a Completion when the client cancelled or left. */
async function challenge(ctx: CommandContext, text: string): Promise<string | Completion> {
  await ctx.send({ type: 'continuation', text });
  const line = await ctx.readLine();
  if (line === null) return bad('Connection closed');
  if (line.trim() === '*') return bad('Authentication cancelled');
  return line;
}

/** Per process: salts for unknown users stay stable while the server runs. */
const DECOY_SECRET = randomBytes(32);

async function authenticateScram(tag: string, clientFirst: string, ctx: CommandContext): Promise<Completion> {
  // The salt and iterations go out before the user is known to exist, so unknown users get decoy ones.
  const parsed = scramServerFirst(clientFirst, '-', { salt: Buffer.alloc(0), iterations: 0 });
  if ('error' in parsed) return scramFailed(ctx, tag, parsed.error);
  const { username, authzid } = parsed.exchange;
  const name = normaliseAddress(username);
  const attempt = { user: username, mechanism: SCRAM_MECHANISM };
  // The throttle decides before the exchange goes on: a blocked source gets no salt and no check.
  const throttle = throttleOf(ctx);
  const remote = ctx.connection.remoteAddress;
  const admission = throttle.admit(remote, name);
  if (admission.refused) {
    await throttleSleep(admission.replyDelayMs);
    return finishAuth(ctx, tag, { status: 'refused', reason: admission.reason }, attempt);
  }
  await throttleSleep(admission.waitMs);
  const account = await ctx.imap.domain.findAccount(name);
  let credentials = account ? scramCredentials(account.passwordHash) : null;
  if (account && !credentials) {
    ctx.log.info({ remote }, 'SCRAM-SHA-256 refused: the account password predates SCRAM; set it again to enable SCRAM');
  }
  credentials ??= decoyCredentials(name, DECOY_SECRET, ctx.imap.domain.passwords.scramIterations);
  const first = scramServerFirst(clientFirst, randomBytes(18).toString('base64'), credentials);
  if ('error' in first) return scramFailed(ctx, tag, first.error);
  const clientFinal = await challenge(ctx, first.challenge);
  if (typeof clientFinal !== 'string') return clientFinal;
  const final = scramServerFinal(first.exchange, clientFinal, credentials);
  if ('error' in final || !account) {
    const note = throttle.failed(remote, name);
    await throttleSleep(note.replyDelayMs);
    return finishAuth(ctx, tag, { status: 'failed', note }, attempt);
  }
  throttle.succeeded(remote, name);
  // No proxy authentication: an authzid must name the user itself.
  if (authzid !== '' && normaliseAddress(authzid) !== name) {
    await throttleSleep(ctx.imap.authFailureDelayMs);
    return connectionFailure(ctx, tag, no('Authorization as another user is not permitted', { name: 'AUTHORIZATIONFAILED' }));
  }
  // RFC 9051 §6.2.2: the server's proof ("additional data with success") goes in a challenge; the client answers empty.
  const empty = await challenge(ctx, final.serverFinal);
  if (typeof empty !== 'string') return empty;
  if (empty.trim() !== '') return bad('Expected an empty response after the SCRAM server signature');
  return finishAuth(ctx, tag, { status: 'ok', value: account }, attempt);
}

/** A malformed exchange tested no password: it counts on this connection, not in the throttle. */
async function scramFailed(ctx: CommandContext, tag: string, reason: string): Promise<Completion> {
  ctx.log.debug({ reason }, 'SCRAM exchange refused');
  await throttleSleep(ctx.imap.authFailureDelayMs);
  return connectionFailure(ctx, tag, AUTHENTICATION_FAILED);
}

async function authenticatePlain(tag: string, response: string, ctx: CommandContext): Promise<Completion> {
  const credentials = decodePlain(response);
  if ('error' in credentials) return bad(credentials.error);
  // Acting as another user (a non-empty authzid that differs) is not offered.
  if (credentials.authzid !== '' && credentials.authzid.toLowerCase() !== credentials.authcid.toLowerCase()) {
    await throttleSleep(ctx.imap.authFailureDelayMs);
    return connectionFailure(ctx, tag, no('Authorization as another user is not permitted', { name: 'AUTHORIZATIONFAILED' }));
  }
  const outcome = await ctx.imap.domain.passwordLogin(
    throttleOf(ctx),
    ctx.connection.remoteAddress,
    credentials.authcid,
    credentials.password,
  );
  return finishAuth(ctx, tag, outcome, { user: credentials.authcid, mechanism: 'PLAIN' });
}

/** The same words for an unknown user and a wrong password (RFC 5530 §3 AUTHENTICATIONFAILED). */
const AUTHENTICATION_FAILED: Completion = no('Authentication failed', { name: 'AUTHENTICATIONFAILED' });
/** RFC 5530 §3 UNAVAILABLE: a temporary refusal; the client should try later, not ask for a new password. */
const THROTTLED: Completion = no('Too many failed logins; try again later', { name: 'UNAVAILABLE' });
/** Too many password verifications waiting (domain/credential-cache.ts): the password was not checked. */
const BUSY: Completion = no('Server busy; try again later', { name: 'UNAVAILABLE' });

async function finishAuth(
  ctx: CommandContext,
  tag: string,
  outcome: LoginOutcome<Account>,
  attempt: { user: string; mechanism: string },
): Promise<Completion> {
  const remote = ctx.connection.remoteAddress;
  loginAttempted('imap', outcome.status);
  // The attempted name is logged (bounded), never the password.
  const user = attempt.user.slice(0, 256);
  if (outcome.status === 'failed') {
    const { note } = outcome;
    if (note.shouldLog) ctx.log.info({ remote, user, mechanism: attempt.mechanism, failures: note.sourceFailures }, 'imap authentication failed');
    if (note.blockStarted) ctx.log.warn({ remote, user, blocked: note.blockStarted }, 'login throttle: block started');
    return connectionFailure(ctx, tag, AUTHENTICATION_FAILED);
  }
  if (outcome.status === 'refused') {
    // Every refusal is bounded by the per-connection limit; the block itself was logged when it started.
    ctx.log.debug({ remote, user, mechanism: attempt.mechanism, blocked: outcome.reason }, 'imap login refused by the throttle');
    return connectionFailure(ctx, tag, outcome.reason === 'busy' ? BUSY : THROTTLED);
  }
  ctx.loggedIn(outcome.value);
  ctx.log.info({ remote }, 'imap login');
  return ok('Logged in', { name: 'CAPABILITY', value: { atom: ctx.capabilities().join(' ') } });
}

/**
 * Counts a failed login on this connection. The third one is answered and
 * then the connection is closed with BYE (RFC 9051 §7.1.5), so one connection
 * cannot go on guessing.
 */
async function connectionFailure(ctx: CommandContext, tag: string, done: Completion): Promise<Completion> {
  const state = ctx.state;
  if (state.kind !== 'not-authenticated') return done;
  const failures = state.failures + 1;
  ctx.setState({ kind: 'not-authenticated', failures });
  if (failures < MAX_AUTH_FAILURES_PER_CONNECTION) return done;
  ctx.log.info({ remote: ctx.connection.remoteAddress, failures }, 'imap connection closed after too many authentication failures');
  await ctx.send({ type: 'status', tag, status: done.status, ...(done.code ? { code: done.code } : {}), text: done.text });
  await ctx.send({ type: 'status', tag: '*', status: 'BYE', text: 'Too many authentication failures' });
  ctx.close();
  return { ...done, answered: true };
}

/** The node's throttle; a session built without one (unit tests) only delays its failures, as before. */
function throttleOf(ctx: CommandContext): LoginThrottle {
  return ctx.imap.domain.loginThrottle ?? LoginThrottle.fixedDelay(ctx.imap.authFailureDelayMs);
}
