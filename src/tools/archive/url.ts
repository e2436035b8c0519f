/**
 * `pop3s://USER@HOST[:PORT]` and `imaps://USER@HOST[:PORT][/FOLDER]`, the
 * sources of `mailstead archive` and the target of `mailstead import`.
 * The user may itself contain "@" (alice@example.com@mail.example.com): the
 * URL parser splits at the last "@" of the authority. A plaintext scheme
 * (imap://, pop3://) upgrades with STARTTLS/STLS and is plaintext only with
 * --allow-plaintext.
 */
import { ToolError } from '../errors.js';

export interface MailUrl {
  protocol: 'imap' | 'pop3';
  /** true for imaps/pop3s (implicit TLS, RFC 8314). */
  implicitTls: boolean;
  host: string;
  port: number;
  user: string;
  /** IMAP folder named in the path, or null. */
  folder: string | null;
  /**
   * Identifies the account in manifests: protocol, user and host, without port,
   * password or folder (a server moved to another port is the same mailbox).
   */
  account: string;
}

const SCHEMES: Record<string, { protocol: 'imap' | 'pop3'; implicitTls: boolean; port: number }> = {
  'imaps:': { protocol: 'imap', implicitTls: true, port: 993 },
  'imap:': { protocol: 'imap', implicitTls: false, port: 143 },
  'pop3s:': { protocol: 'pop3', implicitTls: true, port: 995 },
  'pop3:': { protocol: 'pop3', implicitTls: false, port: 110 },
};

export function parseMailUrl(text: string, allowed: Array<'imap' | 'pop3'>): MailUrl {
  const example = allowed.includes('pop3') ? 'pop3s://user@example.com@mail.example.com' : 'imaps://user@example.com@mail.example.com';
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ToolError(`not a URL: "${text}" (use e.g. ${example})`, 'usage');
  }
  const scheme = SCHEMES[url.protocol];
  if (!scheme || !allowed.includes(scheme.protocol)) {
    throw new ToolError(`unsupported scheme "${url.protocol}" in "${text}" (use e.g. ${example})`, 'usage');
  }
  if (url.password) throw new ToolError('do not put the password in the URL; use --password-stdin or MAILSTEAD_PASSWORD', 'usage');
  const user = decodeURIComponent(url.username);
  if (!user) throw new ToolError(`no user in "${text}" (use e.g. ${example})`, 'usage');
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) throw new ToolError(`no host in "${text}"`, 'usage');
  const path = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (path && scheme.protocol === 'pop3') throw new ToolError('a POP3 URL has no folder', 'usage');
  const port = url.port ? Number(url.port) : scheme.port;
  return {
    protocol: scheme.protocol,
    implicitTls: scheme.implicitTls,
    host,
    port,
    user,
    folder: path || null,
    account: `${scheme.protocol}://${encodeURIComponent(user).replace(/%40/g, '@')}@${host.toLowerCase()}`,
  };
}
