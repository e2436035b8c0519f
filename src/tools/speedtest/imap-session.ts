/**
 * Opens one measured IMAP session with imapflow over the timed transport:
 * DNS is looked up here, TCP/TLS/greeting come from the transport, and
 * authentication is the rest of connect() (CAPABILITY, ID, AUTHENTICATE,
 * ENABLE) less any STARTTLS upgrade.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { ImapFlow } from 'imapflow';
import { ToolError, toToolError } from '../errors.js';
import { TimedTransport } from './imap-transport.js';
import type { Target } from './target.js';
import { type ConnectTimings, tlsHandshakeRoundTrips } from './run-types.js';

export interface SessionOptions {
  target: Target;
  password: string;
  insecure: boolean;
  ca?: string[];
  /** Certificate name when the host is an address (the demo connects to 127.0.0.1 as "localhost"). */
  servername?: string;
  timeoutMs?: number;
}

/** The measuring clients' options (wire/) for a run's target: same TLS policy, same names in errors. */
export function wireLogin(opts: SessionOptions, protocol: 'IMAP' | 'POP3') {
  return {
    host: opts.target.host,
    port: opts.target.port,
    implicitTls: opts.target.implicitTls,
    insecure: opts.insecure,
    ca: opts.ca,
    servername: opts.servername,
    timeoutMs: opts.timeoutMs,
    user: opts.target.user,
    password: opts.password,
    where: `${protocol} ${opts.target.host}:${opts.target.port}`,
  };
}

export interface SessionExtras {
  /** Report when the server acknowledged IDLE (via imapflow's log events; only for the push watcher, logging costs time). */
  watchIdle?: boolean;
}

export type ImapConnectTimings = ConnectTimings;

export interface ImapSession {
  client: ImapFlow;
  transport: TimedTransport;
  timings: ImapConnectTimings;
  /** performance.now() of the last IDLE acknowledgement ("+ idling"), with watchIdle. */
  idleAckAt: number;
}

export async function openImapSession(opts: SessionOptions, extras: SessionExtras = {}): Promise<ImapSession> {
  const where = `IMAP ${opts.target.host}:${opts.target.port}`;
  const t0 = performance.now();
  let address: string;
  try {
    address = isIP(opts.target.host) ? opts.target.host : (await lookup(opts.target.host)).address;
  } catch (err) {
    throw new ToolError(`${where}: host unreachable (cannot resolve: ${(err as NodeJS.ErrnoException).code})`, 'unreachable');
  }
  const dnsMs = performance.now() - t0;
  const servername = opts.servername ?? (isIP(opts.target.host) ? undefined : opts.target.host);
  const transport = new TimedTransport({ insecure: opts.insecure, ca: opts.ca, servername }, where);
  const client = new ImapFlow({
    host: address,
    port: opts.target.port,
    secure: opts.target.implicitTls,
    servername,
    auth: { user: opts.target.user, pass: opts.password },
    logger: false,
    transport,
    disableAutoIdle: true,
    qresync: true,
    connectionTimeout: opts.timeoutMs ?? 30_000,
    greetingTimeout: opts.timeoutMs ?? 30_000,
    socketTimeout: 10 * 60_000,
    clientInfo: { name: 'mailstead speedtest' },
    emitLogs: Boolean(extras.watchIdle),
  });
  const session = { idleAckAt: 0 };
  if (extras.watchIdle) {
    client.on('log', (entry: { msg?: string }) => {
      if (typeof entry.msg === 'string' && entry.msg.startsWith('Initiated IDLE')) session.idleAckAt = performance.now();
    });
  }
  // imapflow emits 'error' for a lost connection; without a listener Node would throw it.
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (err) {
    client.close();
    throw transport.failure ?? toToolError(err, where);
  }
  const ready = performance.now();
  const secureOrTcp = transport.secureAt ?? transport.tcpAt ?? transport.startedAt;
  const upgradeMs = transport.upgradedAt !== null && transport.startTlsAt !== null ? transport.upgradedAt - transport.startTlsAt : 0;
  const greetingAt = transport.greetingAt ?? secureOrTcp;
  return {
    client,
    transport,
    get idleAckAt() {
      return session.idleAckAt;
    },
    timings: {
      dnsMs,
      tcpMs: (transport.tcpAt ?? transport.startedAt) - transport.startedAt,
      tlsMs: opts.target.implicitTls ? secureOrTcp - (transport.tcpAt ?? secureOrTcp) : upgradeMs,
      greetingMs: greetingAt - secureOrTcp,
      authMs: ready - greetingAt - upgradeMs,
      security: opts.target.implicitTls ? 'tls' : transport.upgradedAt !== null ? 'starttls' : 'plain',
      compression: client.capabilities.has('COMPRESS=DEFLATE'),
      tlsVersion: transport.tlsVersion,
      tlsCipher: transport.tlsCipher,
      address,
      // TCP + greeting, plus the TLS handshake, plus the STARTTLS command when upgraded.
      connectRoundTrips:
        2 + (opts.target.implicitTls || transport.upgradedAt !== null ? tlsHandshakeRoundTrips(transport.tlsVersion) : 0) + (transport.upgradedAt !== null ? 1 : 0),
    },
  };
}

export async function closeImapSession(session: ImapSession | null): Promise<void> {
  if (!session) return;
  try {
    await session.client.logout();
  } catch {
    session.client.close();
  }
}

export function capabilityList(client: ImapFlow): string[] {
  return [...client.capabilities.keys()];
}
