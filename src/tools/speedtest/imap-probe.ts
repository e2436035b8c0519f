/**
 * One IMAP run, read-only: EXAMINE (never SELECT) and BODY.PEEK[] so no flag
 * changes on the server (RFC 9051 §6.3.3, §6.4.5).
 */
import type { ImapFlow } from 'imapflow';
import { toToolError } from '../errors.js';
import { capabilityList, closeImapSession, type ImapSession, openImapSession, type SessionOptions } from './imap-session.js';
import { DOWNLOAD_BATCH, sampleLatency, type ProbeHooks, type RunResult } from './run-types.js';

export async function runImap(opts: SessionOptions, maxMessages: number | null, hooks: ProbeHooks): Promise<RunResult> {
  const where = `IMAP ${opts.target.host}:${opts.target.port}`;
  let session: ImapSession | null = null;
  try {
    hooks.progress('connect', 0, 1);
    session = await openImapSession(opts);
    const { client, timings } = session;
    const capabilities = capabilityList(client);
    hooks.progress('connect', 1, 1);

    const latencyMs = await sampleLatency(() => client.noop());

    // Listing: EXAMINE + UID FETCH 1:* (UID FLAGS RFC822.SIZE).
    let t = performance.now();
    const mailbox = await client.mailboxOpen('INBOX', { readOnly: true });
    const listing = mailbox.exists > 0 ? await client.fetchAll('1:*', { uid: true, flags: true, size: true }, { uid: true }) : [];
    const listingMs = performance.now() - t;
    const listingBytes = listing.reduce((sum, m) => sum + (m.size ?? 0), 0);
    hooks.progress('listing', 1, 1);

    // Opening the mailbox as a phone does: every message's headers and structure.
    t = performance.now();
    let headers = 0;
    if (mailbox.exists > 0) {
      for await (const _ of client.fetch('1:*', { uid: true, envelope: true, bodyStructure: true, internalDate: true, flags: true }, { uid: true })) {
        if (++headers % 100 === 0) hooks.progress('headers', headers, listing.length);
      }
    }
    const headerSyncMs = performance.now() - t;
    hooks.progress('headers', headers, listing.length);

    const uids = listing.map((m) => m.uid).sort((a, b) => a - b).slice(0, maxMessages ?? undefined);
    const download = await downloadAll(client, uids, hooks);

    const baseline = { uidValidity: mailbox.uidValidity, uidNext: mailbox.uidNext, highestModseq: mailbox.highestModseq };
    await closeImapSession(session);
    session = null;

    const added = (await hooks.addOneMessage?.()) ?? false;
    const resync = await resyncImap(opts, baseline);
    hooks.progress('resync', 1, 1);

    const none = { cpuMs: 0, roundTrips: 0, wireBytes: 0 };
    return {
      ...timings,
      capabilities,
      compressionOffered: capabilities.includes('COMPRESS=DEFLATE'),
      pipeliningOffered: true,
      login: { ms: timings.authMs, ...none },
      listing: { ms: listingMs, ...none, messages: listing.length, bytes: listingBytes },
      headerSync: { ms: headerSyncMs, ...none, messages: headers },
      headerSyncPipelined: null,
      download: { ms: download.downloadMs, ...none, messages: download.downloadMessages, bytes: download.downloadBytes, firstMessageMs: download.firstMessageMs },
      downloadPipelined: null,
      downloadCompressed: null,
      resync: { ms: resync.ms, ...none, method: resync.method, newMessages: added ? resync.newMessages : 0 },
      latencyMs,
    };
  } catch (err) {
    throw toToolError(err, where);
  } finally {
    await closeImapSession(session);
  }
}

async function downloadAll(client: ImapFlow, uids: number[], hooks: ProbeHooks) {
  const t0 = performance.now();
  let firstMessageMs = 0;
  let bytes = 0;
  let count = 0;
  for (let i = 0; i < uids.length; i += DOWNLOAD_BATCH) {
    const batch = uids.slice(i, i + DOWNLOAD_BATCH);
    for await (const msg of client.fetch(batch.join(','), { uid: true, source: true }, { uid: true })) {
      if (count === 0) firstMessageMs = performance.now() - t0;
      bytes += msg.source?.length ?? 0;
      count++;
    }
    hooks.progress('download', count, uids.length);
  }
  return { downloadMs: performance.now() - t0, downloadMessages: count, downloadBytes: bytes, firstMessageMs };
}

/**
 * A client coming back: new session, then the cheapest resync the server
 * allows: QRESYNC (RFC 7162 §3.2.5, one SELECT reports changed flags and
 * vanished UIDs), CONDSTORE (FETCH CHANGEDSINCE), or a full flag listing.
 * New messages are fetched as headers from the old UIDNEXT on.
 */
async function resyncImap(opts: SessionOptions, baseline: { uidValidity: bigint; uidNext: number; highestModseq?: bigint }) {
  const t0 = performance.now();
  const session = await openImapSession(opts);
  try {
    const { client } = session;
    const canQresync = client.enabled.has('QRESYNC') && baseline.highestModseq !== undefined;
    const canCondstore = (client.enabled.has('CONDSTORE') || client.capabilities.has('CONDSTORE')) && baseline.highestModseq !== undefined;
    let method: string;
    let mailbox;
    if (canQresync) {
      method = 'qresync';
      mailbox = await client.mailboxOpen('INBOX', { readOnly: true, changedSince: baseline.highestModseq, uidValidity: baseline.uidValidity });
    } else {
      mailbox = await client.mailboxOpen('INBOX', { readOnly: true });
      if (canCondstore) {
        method = 'condstore';
        if (mailbox.exists > 0) await client.fetchAll('1:*', { uid: true, flags: true }, { uid: true, changedSince: baseline.highestModseq });
      } else {
        method = 'uid-fetch';
        if (mailbox.exists > 0) await client.fetchAll('1:*', { uid: true, flags: true }, { uid: true });
      }
    }
    let newMessages = 0;
    if (mailbox.uidNext > baseline.uidNext && mailbox.exists > 0) {
      // "N:*" always includes the highest UID (RFC 9051 §6.4.8), so count only UIDs >= N.
      const fresh = await client.fetchAll(`${baseline.uidNext}:*`, { uid: true, envelope: true, bodyStructure: true, flags: true }, { uid: true });
      newMessages = fresh.filter((m) => m.uid >= baseline.uidNext).length;
    }
    return { ms: performance.now() - t0, method, newMessages };
  } finally {
    await closeImapSession(session);
  }
}
