/**
 * `imaps://USER@HOST[:PORT]` and friends. The scheme says how the connection
 * is secured; a plaintext scheme (imap://, pop3://) upgrades with STARTTLS/STLS
 * when the server offers it and is accepted only with --allow-plaintext.
 */
import { ToolError } from '../errors.js';
import type { ProtocolName } from './types.js';

export interface Target {
  protocol: ProtocolName;
  /** true for imaps/pop3s (implicit TLS, RFC 8314); false for the plaintext ports. */
  implicitTls: boolean;
  host: string;
  port: number;
  user: string;
  /** The URL as given, without any password. */
  url: string;
}

const SCHEMES: Record<string, { protocol: ProtocolName; implicitTls: boolean; port: number }> = {
  'imaps:': { protocol: 'imap', implicitTls: true, port: 993 },
  'imap:': { protocol: 'imap', implicitTls: false, port: 143 },
  'pop3s:': { protocol: 'pop3', implicitTls: true, port: 995 },
  'pop3:': { protocol: 'pop3', implicitTls: false, port: 110 },
};

export function parseTarget(text: string, expected: ProtocolName): Target {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ToolError(`not a URL: "${text}" (use e.g. ${expected}s://user@example.com@mail.example.com)`, 'usage');
  }
  const scheme = SCHEMES[url.protocol];
  if (!scheme || scheme.protocol !== expected) {
    throw new ToolError(`--${expected} wants ${expected}s:// or ${expected}://, not "${url.protocol}"`, 'usage');
  }
  if (url.password) throw new ToolError('do not put the password in the URL; use --password-stdin or MAILSTEAD_PASSWORD', 'usage');
  const user = decodeURIComponent(url.username);
  if (!user) throw new ToolError(`no user in "${text}" (use ${url.protocol}//USER@HOST)`, 'usage');
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) throw new ToolError(`no host in "${text}"`, 'usage');
  return {
    protocol: scheme.protocol,
    implicitTls: scheme.implicitTls,
    host,
    port: url.port ? Number(url.port) : scheme.port,
    user,
    url: `${url.protocol}//${encodeURIComponent(user).replace(/%40/g, '@')}@${url.host}`,
  };
}
