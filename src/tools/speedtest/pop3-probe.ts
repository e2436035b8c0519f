/**
 * One POP3 run, read-only: never DELE, and RSET before QUIT because some
 * servers (Dovecot) mark retrieved messages \Seen at the end of a session
 * unless it was reset (shared/DEPENDENCIES.md). Measured with the lean client
 * (wire/pop3.ts): login, listing, header sync and download one command at a
 * time as POP3 clients do, and again pipelined when CAPA offers PIPELINING
 * (RFC 2449 §6.6), and a resync whose clock starts once logged in.
 */
import { ToolError, toToolError } from '../errors.js';
import { type SessionOptions, wireLogin } from './imap-session.js';
import { type DownloadRun, type PhaseRun, type ProbeHooks, type RunResult, sampleLatency } from './run-types.js';
import { startMeter } from './wire/meter.js';
import { type Pop3LoginOptions, WirePop3 } from './wire/pop3.js';

interface UidlEntry {
  number: number;
  uidl: string;
}

export async function runPop3(opts: SessionOptions, maxMessages: number | null, hooks: ProbeHooks): Promise<RunResult> {
  const login = wireLogin(opts, 'POP3');
  const where = login.where;
  let client: WirePop3 | null = null;
  try {
    hooks.progress('connect', 0, 1);
    client = await WirePop3.connect(login);
    const pop3 = client;
    hooks.progress('connect', 1, 1);

    const latencyMs = await sampleLatency(() => pop3.noop());

    let stop = startMeter(pop3);
    const [count, size] = (await pop3.ok('STAT')).status.split(' ').slice(1).map(Number);
    const uidl = await listUidl(pop3);
    const listing = { ...stop(), messages: count, bytes: size };
    hooks.progress('listing', 1, 1);

    // Opening the mailbox: TOP n 0 per message, each waiting for the last (RFC 1939 §7).
    stop = startMeter(pop3);
    let headers = 0;
    for (const { number } of uidl) {
      const reply = await pop3.run({ line: `TOP ${number} 0`, multiline: true });
      if (!reply.ok) {
        if (headers === 0) throw new ToolError(`${where}: capability missing: TOP (${reply.status})`, 'capability');
        throw new ToolError(`${where}: TOP ${number} failed: ${reply.status}`, 'protocol');
      }
      if (++headers % 100 === 0) hooks.progress('headers', headers, uidl.length);
    }
    const headerSync = { ...stop(), messages: headers };
    hooks.progress('headers', headers, uidl.length);

    const pipelining = pop3.pipelining;
    let headerSyncPipelined: (PhaseRun & { messages: number }) | null = null;
    if (pipelining && uidl.length > 0) {
      stop = startMeter(pop3);
      let done = 0;
      await pop3.pipeline(
        uidl.map(({ number }) => ({ line: `TOP ${number} 0`, multiline: true })),
        (reply) => {
          if (!reply.ok) throw new ToolError(`${where}: TOP failed: ${reply.status}`, 'protocol');
          done++;
        },
      );
      headerSyncPipelined = { ...stop(), messages: done };
      hooks.progress('headers (pipelined)', done, uidl.length);
    }

    const numbers = uidl.map((e) => e.number).slice(0, maxMessages ?? undefined);
    const download = await downloadSequential(pop3, numbers, hooks);
    const downloadPipelined = pipelining && numbers.length > 0 ? await downloadPipelinedRun(pop3, numbers, hooks) : null;
    const capabilities = pop3.capabilities;
    await pop3.quit();
    client = null;

    const added = (await hooks.addOneMessage?.()) ?? false;
    const resync = await resyncPop3(login, new Set(uidl.map((e) => e.uidl)));
    hooks.progress('resync', 1, 1);

    return {
      ...pop3.timings,
      capabilities,
      compressionOffered: false,
      pipeliningOffered: pipelining,
      login: pop3.login,
      listing,
      headerSync,
      headerSyncPipelined,
      download,
      downloadPipelined,
      downloadCompressed: null,
      resync: { ...resync, method: 'uidl-diff', newMessages: added ? resync.newMessages : 0 },
      latencyMs,
    };
  } catch (err) {
    throw toToolError(err, where);
  } finally {
    await client?.quit();
  }
}

async function listUidl(client: WirePop3): Promise<UidlEntry[]> {
  const entries: UidlEntry[] = [];
  const reply = await client.run({
    line: 'UIDL',
    multiline: true,
    onLine: (text) => {
      const [n, uidl] = text.split(' ');
      if (uidl) entries.push({ number: Number(n), uidl });
    },
  });
  if (!reply.ok) throw new ToolError(`${client.where}: capability missing: UIDL (${reply.status})`, 'capability');
  return entries;
}

/** RETR one at a time, as POP3 clients do. */
async function downloadSequential(client: WirePop3, numbers: number[], hooks: ProbeHooks): Promise<DownloadRun> {
  const stop = startMeter(client);
  const t0 = performance.now();
  let firstMessageMs = 0;
  let bytes = 0;
  for (const [i, n] of numbers.entries()) {
    const reply = await client.run({ line: `RETR ${n}`, multiline: true });
    if (!reply.ok) throw new ToolError(`${client.where}: RETR ${n} failed: ${reply.status}`, 'protocol');
    bytes += reply.messageOctets;
    if (i === 0) firstMessageMs = performance.now() - t0;
    if ((i + 1) % 50 === 0) hooks.progress('download', i + 1, numbers.length);
  }
  hooks.progress('download', numbers.length, numbers.length);
  return { ...stop(), messages: numbers.length, bytes, firstMessageMs };
}

/** The same RETRs pipelined in batches (RFC 2449 §6.6). */
async function downloadPipelinedRun(client: WirePop3, numbers: number[], hooks: ProbeHooks): Promise<DownloadRun> {
  const stop = startMeter(client);
  const t0 = performance.now();
  let firstMessageMs = 0;
  let bytes = 0;
  let count = 0;
  await client.pipeline(
    numbers.map((n) => ({ line: `RETR ${n}`, multiline: true })),
    (reply, i) => {
      if (!reply.ok) throw new ToolError(`${client.where}: RETR ${numbers[i]} failed: ${reply.status}`, 'protocol');
      if (count === 0) firstMessageMs = performance.now() - t0;
      bytes += reply.messageOctets;
      if (++count % 50 === 0) hooks.progress('download (pipelined)', count, numbers.length);
    },
  );
  hooks.progress('download (pipelined)', count, numbers.length);
  return { ...stop(), messages: count, bytes, firstMessageMs };
}

/**
 * A POP3 client coming back: a new session (POP3 sees new mail only at login, RFC 1939 §8),
 * logged in before the clock starts; then UIDL, the difference against what it already has,
 * and RETR of what is new (RFC 1939 §7 UIDL).
 */
async function resyncPop3(login: Pop3LoginOptions, known: Set<string>) {
  const client = await WirePop3.connect(login);
  try {
    const stop = startMeter(client);
    const fresh = (await listUidl(client)).filter((e) => !known.has(e.uidl));
    for (const { number } of fresh) {
      const reply = await client.run({ line: `RETR ${number}`, multiline: true });
      if (!reply.ok) throw new ToolError(`${client.where}: RETR ${number} failed: ${reply.status}`, 'protocol');
    }
    return { ...stop(), newMessages: fresh.length };
  } finally {
    await client.quit();
  }
}
