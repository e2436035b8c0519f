/**
 * Opening authenticated POP3 and IMAP sessions for the archive and import
 * tools, with the trust choices of the command line: the system CAs, extra
 * CAs (--ca FILE), or none at all (--insecure, said so on stderr by the CLI).
 */
import { ImapFlow } from 'imapflow';
import { Pop3Client } from '../clients/pop3-client.js';
import { ToolError, toToolError } from '../errors.js';
import type { MailUrl } from './url.js';

export interface TrustOptions {
  insecure?: boolean;
  /** Extra CA certificates (PEM). */
  ca?: string[];
  /** Allow a plaintext scheme to stay plaintext when the server offers no STARTTLS. */
  allowPlaintext?: boolean;
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}

export async function openPop3(url: MailUrl, password: string, trust: TrustOptions): Promise<Pop3Client> {
  const client = new Pop3Client({
    host: url.host,
    port: url.port,
    security: url.implicitTls ? 'tls' : trust.allowPlaintext ? 'plain' : 'starttls',
    insecure: trust.insecure,
    ca: trust.ca,
  });
  try {
    await client.connect();
    await client.login(url.user, password);
  } catch (err) {
    client.close();
    throw toToolError(err, `${url.protocol} ${url.host}:${url.port}`);
  }
  return client;
}

export async function openImap(url: MailUrl, password: string, trust: TrustOptions): Promise<ImapFlow> {
  const client = new ImapFlow({
    host: url.host,
    port: url.port,
    secure: url.implicitTls,
    // A plaintext scheme must upgrade (RFC 8314 §3) unless the user allowed plaintext.
    doSTARTTLS: url.implicitTls ? undefined : trust.allowPlaintext ? undefined : true,
    auth: { user: url.user, pass: password },
    tls: {
      rejectUnauthorized: !trust.insecure,
      ca: trust.ca,
      servername: isIp(url.host) ? undefined : url.host,
      minVersion: 'TLSv1.2',
    },
    logger: false,
    disableAutoIdle: true,
    connectionTimeout: 30_000,
    greetingTimeout: 30_000,
  });
  // imapflow emits 'error' on socket trouble; without a listener Node would crash the process.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    throw toToolError(err, `imap ${url.host}:${url.port}`);
  }
  return client;
}

/** True when the server announced the capability (imapflow keeps them in a Map). */
export function hasCapability(client: ImapFlow, name: string): boolean {
  return client.capabilities.has(name.toUpperCase());
}

export function requireCapability(client: ImapFlow, name: string, why: string): void {
  if (!hasCapability(client, name)) throw new ToolError(`the server does not offer ${name}, needed ${why}`, 'capability');
}
