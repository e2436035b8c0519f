/**
 * One POP3 run, read-only: never DELE, and RSET before QUIT because some
 * servers (Dovecot) mark retrieved messages \Seen at the end of a session
 * unless it was reset (shared/DEPENDENCIES.md).
 */
import { Pop3Client, Pop3Error } from '../clients/pop3-client.js';
import { ToolError, toToolError } from '../errors.js';
import type { SessionOptions } from './imap-session.js';
import { type ConnectTimings, sampleLatency, type ProbeHooks, type RunResult } from './run-types.js';

interface OpenedPop3 {
  client: Pop3Client;
  timings: ConnectTimings;
}

export async function openPop3Session(opts: SessionOptions): Promise<OpenedPop3> {
  const base = {
    host: opts.target.host,
    port: opts.target.port,
    insecure: opts.insecure,
    ca: opts.ca,
    servername: opts.servername,
    timeoutMs: opts.timeoutMs ?? 60_000,
  };
  let security: 'tls' | 'starttls' | 'plain' = opts.target.implicitTls ? 'tls' : 'starttls';
  let client = new Pop3Client({ ...base, security });
  let connect;
  try {
    connect = await client.connect();
  } catch (err) {
    client.close();
    // A plaintext port without STLS: stay in plaintext (the user allowed it with --allow-plaintext).
    if (!(err instanceof Pop3Error && err.kind === 'capability' && security === 'starttls')) throw err;
    security = 'plain';
    client = new Pop3Client({ ...base, security });
    connect = await client.connect();
  }
  const t = performance.now();
  try {
    await client.login(opts.target.user, opts.password);
  } catch (err) {
    client.close();
    throw err;
  }
  return { client, timings: { ...connect, authMs: performance.now() - t, security, compression: false, connectRoundTrips: 0 } };
}

/** RSET then QUIT: leaves the maildrop exactly as it was (RFC 1939 §5 RSET). */
export async function leavePop3(client: Pop3Client | null): Promise<void> {
  if (!client) return;
  try {
    await client.rset();
    await client.quit();
  } catch {
    client.close();
  }
}

export async function runPop3(opts: SessionOptions, maxMessages: number | null, hooks: ProbeHooks): Promise<RunResult> {
  const where = `POP3 ${opts.target.host}:${opts.target.port}`;
  let client: Pop3Client | null = null;
  try {
    hooks.progress('connect', 0, 1);
    const opened = await openPop3Session(opts);
    client = opened.client;
    const capabilities = client.capabilities;
    hooks.progress('connect', 1, 1);

    const pop3 = client;
    const latencyMs = await sampleLatency(() => pop3.noop());

    let t = performance.now();
    const stat = await client.stat();
    const uidl = await client.uidl();
    const listingMs = performance.now() - t;
    hooks.progress('listing', 1, 1);

    t = performance.now();
    let headers = 0;
    try {
      for (const { number } of uidl) {
        await client.top(number, 0);
        if (++headers % 100 === 0) hooks.progress('headers', headers, uidl.length);
      }
    } catch (err) {
      if (err instanceof Pop3Error && err.kind === 'protocol' && headers === 0) {
        throw new ToolError(`${where}: capability missing: TOP (${err.serverText ?? err.message})`, 'capability');
      }
      throw err;
    }
    const headerSyncMs = performance.now() - t;
    hooks.progress('headers', headers, uidl.length);

    const numbers = uidl.map((e) => e.number).slice(0, maxMessages ?? undefined);
    const t0 = performance.now();
    let firstMessageMs = 0;
    let bytes = 0;
    for (const [i, n] of numbers.entries()) {
      bytes += (await client.retr(n)).length;
      if (i === 0) firstMessageMs = performance.now() - t0;
      if ((i + 1) % 50 === 0) hooks.progress('download', i + 1, numbers.length);
    }
    const downloadMs = performance.now() - t0;
    hooks.progress('download', numbers.length, numbers.length);
    await leavePop3(client);
    client = null;

    const added = (await hooks.addOneMessage?.()) ?? false;
    const resync = await resyncPop3(opts, new Set(uidl.map((e) => e.uidl)));
    hooks.progress('resync', 1, 1);

    const none = { cpuMs: 0, roundTrips: 0, wireBytes: 0 };
    return {
      ...opened.timings,
      capabilities,
      compressionOffered: false,
      pipeliningOffered: capabilities.some((c) => c.toUpperCase() === 'PIPELINING'),
      login: { ms: opened.timings.authMs, ...none },
      listing: { ms: listingMs, ...none, messages: stat.count, bytes: stat.size },
      headerSync: { ms: headerSyncMs, ...none, messages: headers },
      headerSyncPipelined: null,
      download: { ms: downloadMs, ...none, messages: numbers.length, bytes, firstMessageMs },
      downloadPipelined: null,
      downloadCompressed: null,
      resync: { ms: resync.ms, ...none, method: 'uidl-diff', newMessages: added ? resync.newMessages : 0 },
      latencyMs,
    };
  } catch (err) {
    throw toToolError(err, where);
  } finally {
    await leavePop3(client);
  }
}

/**
 * A POP3 client coming back: a new session (POP3 sees new mail only at
 * login, RFC 1939 §8), UIDL, the difference against what it already has, and
 * RETR of what is new (RFC 1939 §7 UIDL).
 */
async function resyncPop3(opts: SessionOptions, known: Set<string>) {
  const t0 = performance.now();
  const { client } = await openPop3Session(opts);
  try {
    const fresh = (await client.uidl()).filter((e) => !known.has(e.uidl));
    for (const { number } of fresh) await client.retr(number);
    return { ms: performance.now() - t0, newMessages: fresh.length };
  } finally {
    await leavePop3(client);
  }
}
