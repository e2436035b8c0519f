/**
 * STARTTLS, LOGIN and AUTHENTICATE PLAIN and SCRAM-SHA-256 (RFC 9051 §6.2,
 * RFC 4616, RFC 7677, SASL-IR RFC 4959). Credentials never reach the logger;
 * failures are answered after a delay.
 */
import { randomBytes } from 'node:crypto';
import { normaliseAddress } from '../../domain/mail-domain.js';
import { scramCredentials } from '../../domain/passwords.js';
import { decodePlain } from '../../protocol/sasl/plain.js';
import { decoyCredentials, SCRAM_MECHANISM, scramServerFinal, scramServerFirst } from '../../protocol/sasl/scram.js';
import type { Account } from '../../store/types.js';
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
  return finishAuth(ctx, await ctx.imap.domain.authenticate(cmd.username, cmd.password));
}

/** The SASL mechanisms AUTHENTICATE offers, as announced in CAPABILITY (AUTH=...). */
export const SASL_MECHANISMS = ['PLAIN', SCRAM_MECHANISM];

export async function authenticateCommand(cmd: CommandOf<'AUTHENTICATE'>, ctx: CommandContext): Promise<Completion> {
  const mechanism = cmd.mechanism.toUpperCase();
  if (!SASL_MECHANISMS.includes(mechanism)) return no(`Unsupported authentication mechanism ${cmd.mechanism}`);
  if (!ctx.authAllowed()) return PRIVACY_REQUIRED;
  // RFC 9051 §6.2.2: without an initial response the server sends an empty challenge first.
  const response = cmd.initialResponse ?? (await challenge(ctx, ''));
  if (typeof response !== 'string') return response;
  return mechanism === 'PLAIN' ? authenticatePlain(response, ctx) : authenticateScram(response, ctx);
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

async function authenticateScram(clientFirst: string, ctx: CommandContext): Promise<Completion> {
  // The salt and iterations go out before the user is known to exist, so unknown users get decoy ones.
  const parsed = scramServerFirst(clientFirst, '-', { salt: Buffer.alloc(0), iterations: 0 });
  if ('error' in parsed) return scramFailed(ctx, parsed.error);
  const { username, authzid } = parsed.exchange;
  const account = await ctx.imap.domain.store.getAccount(normaliseAddress(username));
  let credentials = account ? scramCredentials(account.passwordHash) : null;
  if (account && !credentials) {
    ctx.log.info({ remote: ctx.connection.remoteAddress }, 'SCRAM-SHA-256 refused: the account password predates SCRAM; set it again to enable SCRAM');
  }
  credentials ??= decoyCredentials(normaliseAddress(username), DECOY_SECRET);
  const first = scramServerFirst(clientFirst, randomBytes(18).toString('base64'), credentials);
  if ('error' in first) return scramFailed(ctx, first.error);
  const clientFinal = await challenge(ctx, first.challenge);
  if (typeof clientFinal !== 'string') return clientFinal;
  const final = scramServerFinal(first.exchange, clientFinal, credentials);
  if ('error' in final) return finishAuth(ctx, null);
  // No proxy authentication: an authzid must name the user itself.
  if (authzid !== '' && normaliseAddress(authzid) !== normaliseAddress(username)) {
    await delayFailure(ctx);
    return no('Authorization as another user is not permitted', { name: 'AUTHORIZATIONFAILED' });
  }
  // RFC 9051 §6.2.2: the server's proof ("additional data with success") goes in a challenge; the client answers empty.
  const empty = await challenge(ctx, final.serverFinal);
  if (typeof empty !== 'string') return empty;
  if (empty.trim() !== '') return bad('Expected an empty response after the SCRAM server signature');
  return finishAuth(ctx, account);
}

async function scramFailed(ctx: CommandContext, reason: string): Promise<Completion> {
  ctx.log.debug({ reason }, 'SCRAM exchange refused');
  return finishAuth(ctx, null);
}

async function authenticatePlain(response: string, ctx: CommandContext): Promise<Completion> {
  const credentials = decodePlain(response);
  if ('error' in credentials) return bad(credentials.error);
  // Acting as another user (a non-empty authzid that differs) is not offered.
  if (credentials.authzid !== '' && credentials.authzid.toLowerCase() !== credentials.authcid.toLowerCase()) {
    await delayFailure(ctx);
    return no('Authorization as another user is not permitted', { name: 'AUTHORIZATIONFAILED' });
  }
  return finishAuth(ctx, await ctx.imap.domain.authenticate(credentials.authcid, credentials.password));
}

async function finishAuth(ctx: CommandContext, account: Account | null): Promise<Completion> {
  const state = ctx.state;
  if (!account) {
    if (state.kind === 'not-authenticated') ctx.setState({ kind: 'not-authenticated', failures: state.failures + 1 });
    ctx.log.info({ remote: ctx.connection.remoteAddress }, 'imap authentication failed');
    await delayFailure(ctx);
    return no('Authentication failed', { name: 'AUTHENTICATIONFAILED' });
  }
  ctx.loggedIn(account);
  ctx.log.info({ remote: ctx.connection.remoteAddress }, 'imap login');
  return ok('Logged in', { name: 'CAPABILITY', value: { atom: ctx.capabilities().join(' ') } });
}

function delayFailure(ctx: CommandContext): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ctx.imap.authFailureDelayMs));
}
