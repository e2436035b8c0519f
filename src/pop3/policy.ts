/**
 * What the POP3 AUTHORIZATION state offers on a given connection: whether a
 * password may be sent, and the CAPA list that says so (RFC 2449 §5, RFC 2595).
 */
import type { Connection } from '../session/connection.js';

export interface AuthPolicyInput {
  tlsAvailable: boolean;
  allowCleartextAuthFromLoopback: boolean;
}

/** 127.0.0.0/8, ::1 and IPv4-mapped loopback (::ffff:127.x.y.z). */
export function isLoopback(address: string): boolean {
  const v4 = address.toLowerCase().replace(/^::ffff:/, '');
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4)) return true;
  return address === '::1' || /^(0{1,4}:){7}0{0,3}1$/.test(address);
}

/**
 * RFC 2595 §2.3 / RFC 8314: passwords travel only under TLS. The loopback
 * exception is an explicit switch for local tools (fetchmail on the same host).
 */
export function cleartextAuthAllowed(connection: Connection, policy: AuthPolicyInput): boolean {
  return connection.secure || (policy.allowCleartextAuthFromLoopback && isLoopback(connection.remoteAddress));
}

/** STLS is offered once, on a plain connection of a listener that has a certificate. */
export function stlsOffered(connection: Connection, policy: AuthPolicyInput): boolean {
  return policy.tlsAvailable && !connection.secure;
}

/**
 * CAPA lines. Before TLS without cleartext permission USER and SASL are left
 * out, as Dovecot does, so clients go to STLS first. In the TRANSACTION state
 * the AUTHORIZATION-only capabilities are dropped (RFC 2449 §5 lets them vary)
 * and EXPIRE gives the logged-in account's value.
 */
export function capabilities(
  connection: Connection,
  policy: AuthPolicyInput,
  authorized: boolean,
  expire = 'EXPIRE NEVER',
): string[] {
  // RFC 2449 §6.7: before login the retention period is per user ("USER"); after login, the account's value.
  const lines = ['TOP', 'UIDL', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING', authorized ? expire : 'EXPIRE NEVER USER'];
  if (!authorized) {
    if (cleartextAuthAllowed(connection, policy)) lines.push('USER', 'SASL PLAIN');
    if (stlsOffered(connection, policy)) lines.push('STLS');
  }
  lines.push('IMPLEMENTATION Mailstead');
  return lines;
}
