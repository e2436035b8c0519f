/**
 * STARTTLS, LOGIN and AUTHENTICATE PLAIN (RFC 9051 §6.2, RFC 4616, SASL-IR RFC 4959).
 * Credentials never reach the logger; failures are answered after a delay.
 */
import { decodePlain } from '../../protocol/sasl/plain.js';
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

export async function authenticateCommand(cmd: CommandOf<'AUTHENTICATE'>, ctx: CommandContext): Promise<Completion> {
  if (cmd.mechanism.toUpperCase() !== 'PLAIN') return no(`Unsupported authentication mechanism ${cmd.mechanism}`);
  if (!ctx.authAllowed()) return PRIVACY_REQUIRED;
  let response = cmd.initialResponse;
  if (response === null) {
    // RFC 9051 §6.2.2: an empty challenge, then one line of base64.
    await ctx.send({ type: 'continuation', text: '' });
    response = await ctx.readLine();
    if (response === null) return bad('Connection closed');
  }
  if (response.trim() === '*') return bad('Authentication cancelled');
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
