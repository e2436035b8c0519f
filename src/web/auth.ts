/**
 * Who is asking, for every authenticated HTTP route (JMAP now, webmail
 * later). Two credentials:
 *
 * - HTTP Basic (RFC 7617) with the account's address and password, checked
 *   through the same path as an IMAP LOGIN: MailDomain.passwordLogin, so the
 *   node's login throttle, credential cache and bounded scrypt verifications
 *   apply, and a guesser on HTTP is blocked on IMAP too.
 * - A bearer token (RFC 6750) issued by POST /jmap/token to a Basic-authenticated
 *   client. It is self-contained and needs no server-side state, so any node
 *   of a cluster accepts it: account id and expiry, signed with HMAC-SHA-256
 *   under a key derived from the account's stored password hash. A password
 *   change therefore revokes every token of the account at once.
 *
 * Credentials cross the network only over TLS; on a plain listener they are
 * accepted only from loopback and only when `tls.allowCleartextAuthFromLoopback`
 * is set, the rule IMAP and POP3 follow.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { MailDomain } from '../domain/mail-domain.js';
import { LoginThrottle } from '../domain/login-throttle.js';
import { loginAttempted } from '../observability/metrics.js';
import type { Account } from '../store/types.js';
import { isLoopbackAddress } from './security.js';

export interface HttpAuthSettings {
  /** The listener is TLS (https). */
  tls: boolean;
  allowCleartextAuthFromLoopback: boolean;
  tokenLifetimeSeconds: number;
  authFailureDelayMs: number;
}

export type AuthResult =
  | { ok: true; account: Account }
  /** `status` 401 carries a Basic challenge; 403: credentials not allowed on this transport; 429/503: come back later. */
  | { ok: false; status: 401 | 403 | 429 | 503; detail: string };

/** Longest Authorization header value looked at: an address (254) and a password (a few hundred) in base64, with room. */
const MAX_AUTHORIZATION_CHARS = 4096;
const TOKEN_PREFIX = 'mst1';

export const BASIC_CHALLENGE = 'Basic realm="Mailstead", charset="UTF-8"';

export class HttpAuthenticator {
  constructor(
    private readonly domain: MailDomain,
    private readonly settings: HttpAuthSettings,
  ) {}

  async authenticate(authorization: string | undefined, remoteAddress: string): Promise<AuthResult> {
    if (!authorization) return { ok: false, status: 401, detail: 'Authentication required' };
    if (authorization.length > MAX_AUTHORIZATION_CHARS) return { ok: false, status: 401, detail: 'Authorization header too long' };
    if (!this.settings.tls && !(this.settings.allowCleartextAuthFromLoopback && isLoopbackAddress(remoteAddress))) {
      return { ok: false, status: 403, detail: 'Credentials are accepted over HTTPS only' };
    }
    const space = authorization.indexOf(' ');
    const scheme = authorization.slice(0, space).toLowerCase();
    const value = authorization.slice(space + 1).trim();
    if (space > 0 && scheme === 'basic') return this.basic(value, remoteAddress);
    if (space > 0 && scheme === 'bearer') return this.bearer(value);
    return { ok: false, status: 401, detail: 'Unsupported authentication scheme' };
  }

  private async basic(value: string, remoteAddress: string): Promise<AuthResult> {
    // RFC 7617 §2: user-id and password joined by the first colon, UTF-8 (charset="UTF-8" in the challenge).
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) return { ok: false, status: 401, detail: 'Malformed Basic credentials' };
    const throttle = this.domain.loginThrottle ?? LoginThrottle.fixedDelay(this.settings.authFailureDelayMs);
    const outcome = await this.domain.passwordLogin(throttle, remoteAddress, decoded.slice(0, colon), decoded.slice(colon + 1));
    loginAttempted('http', outcome.status);
    if (outcome.status === 'ok') return { ok: true, account: outcome.value };
    if (outcome.status === 'failed') return { ok: false, status: 401, detail: 'Authentication failed' };
    return outcome.reason === 'busy'
      ? { ok: false, status: 503, detail: 'Server busy; try again later' }
      : { ok: false, status: 429, detail: 'Too many failed logins; try again later' };
  }

  private async bearer(token: string): Promise<AuthResult> {
    const denied: AuthResult = { ok: false, status: 401, detail: 'Invalid or expired token' };
    const m = /^mst1\.(\d{1,15})\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(token);
    if (!m) return denied;
    const [, id, expires, mac] = m;
    if (Number(expires) * 1000 <= Date.now()) return denied;
    const account = await this.domain.accountById(Number(id));
    if (!account) return denied;
    const expected = Buffer.from(signature(account, `${id}.${expires}`), 'utf8');
    const given = Buffer.from(mac, 'utf8');
    return timingSafeEqual(expected, given) ? { ok: true, account } : denied;
  }

  /** A bearer token for the account, valid for the configured lifetime. */
  issueToken(account: Account): { token: string; expiresInSeconds: number } {
    const expires = Math.floor(Date.now() / 1000) + this.settings.tokenLifetimeSeconds;
    const payload = `${account.id}.${expires}`;
    return { token: `${TOKEN_PREFIX}.${payload}.${signature(account, payload)}`, expiresInSeconds: this.settings.tokenLifetimeSeconds };
  }
}

/** HMAC of the payload under a key only the store knows, bound to the current password. */
function signature(account: Account, payload: string): string {
  const key = createHash('sha256').update('mailstead jmap token\0').update(account.passwordHash).digest();
  return createHmac('sha256', key).update(payload).digest('base64url');
}
