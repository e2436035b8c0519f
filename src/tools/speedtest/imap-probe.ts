/**
 * One IMAP run, read-only: EXAMINE (never SELECT) and BODY.PEEK[] so no flag
 * changes on the server (RFC 9051 §6.3.3, §6.4.5). Measured with the lean
 * client (wire/imap.ts), each phase apart: login, listing, header sync, the
 * download without compression, the download with COMPRESS=DEFLATE in a
 * session of its own when offered, and a resync whose clock starts once the
 * returning client is logged in.
 */
import { toToolError } from '../errors.js';
import { type SessionOptions, wireLogin } from './imap-session.js';
import { type DownloadRun, type ProbeHooks, type RunResult, sampleLatency } from './run-types.js';
import { type ImapLoginOptions, type ImapReply, WireImap } from './wire/imap.js';
import { numberAfter } from './wire/imap-scanner.js';
import { startMeter } from './wire/meter.js';

const UID = Buffer.from('UID ', 'latin1');
const SIZE = Buffer.from('RFC822.SIZE ', 'latin1');

/** What the first session learned, as a returning client remembers it (RFC 7162 §3.2.5). */
interface Baseline {
  uidValidity: number;
  uidNext: number;
  highestModseq: number | null;
}

export async function runImap(opts: SessionOptions, maxMessages: number | null, hooks: ProbeHooks): Promise<RunResult> {
  const login = wireLogin(opts, 'IMAP');
  let client: WireImap | null = null;
  try {
    hooks.progress('connect', 0, 1);
    client = await WireImap.connect(login);
    const imap = client;
    const capabilities = [...imap.capabilities];
    hooks.progress('connect', 1, 1);

    const latencyMs = await sampleLatency(() => imap.ok('NOOP'));

    // Listing: EXAMINE + UID FETCH 1:* (UID FLAGS RFC822.SIZE).
    let stop = startMeter(imap);
    const examined = await imap.ok('EXAMINE INBOX', { collect: true });
    const exists = responseNumber(examined, /^\* (\d+) EXISTS/i) ?? 0;
    const uids: number[] = [];
    let listingBytes = 0;
    if (exists > 0) {
      await imap.ok('UID FETCH 1:* (UID FLAGS RFC822.SIZE)', {
        untagged: (buf, start, end) => {
          const uid = numberAfter(buf, start, end, UID);
          if (uid < 0) return;
          uids.push(uid);
          listingBytes += Math.max(0, numberAfter(buf, start, end, SIZE));
        },
      });
    }
    const listing = { ...stop(), messages: uids.length, bytes: listingBytes };
    hooks.progress('listing', 1, 1);

    // Opening the mailbox as a phone does: every message's headers and structure, in one command.
    stop = startMeter(imap);
    let headers = 0;
    if (exists > 0) {
      await imap.ok('UID FETCH 1:* (UID ENVELOPE BODYSTRUCTURE INTERNALDATE FLAGS)', {
        untagged: () => {
          if (++headers % 100 === 0) hooks.progress('headers', headers, uids.length);
        },
      });
    }
    const headerSync = { ...stop(), messages: headers };
    hooks.progress('headers', headers, uids.length);

    const chosen = uids.sort((a, b) => a - b).slice(0, maxMessages ?? undefined);
    const download = await downloadAll(imap, chosen, hooks, 'download');
    const baseline: Baseline = {
      uidValidity: responseNumber(examined, /\[UIDVALIDITY (\d+)\]/i) ?? 0,
      uidNext: responseNumber(examined, /\[UIDNEXT (\d+)\]/i) ?? 0,
      highestModseq: responseNumber(examined, /\[HIGHESTMODSEQ (\d+)\]/i),
    };
    await imap.logout();
    client = null;

    // COMPRESS=DEFLATE (RFC 4978) is a row of its own: a second session, compression on before the clock starts.
    const compressionOffered = capabilities.includes('COMPRESS=DEFLATE');
    let downloadCompressed: DownloadRun | null = null;
    if (compressionOffered && chosen.length > 0) {
      client = await WireImap.connect(login);
      await client.compress();
      await client.ok('EXAMINE INBOX');
      downloadCompressed = await downloadAll(client, chosen, hooks, 'download (compressed)');
      await client.logout();
      client = null;
    }

    const added = (await hooks.addOneMessage?.()) ?? false;
    const resync = await resyncImap(login, baseline);
    hooks.progress('resync', 1, 1);

    return {
      ...imap.timings,
      capabilities,
      compressionOffered,
      pipeliningOffered: true,
      login: imap.login,
      listing,
      headerSync,
      headerSyncPipelined: null,
      download,
      downloadPipelined: null,
      downloadCompressed,
      resync: { ...resync, newMessages: added ? resync.newMessages : 0 },
      latencyMs,
    };
  } catch (err) {
    throw toToolError(err, `IMAP ${opts.target.host}:${opts.target.port}`);
  } finally {
    client?.close();
  }
}

/** One UID FETCH of every chosen message's BODY.PEEK[]: one round trip, the literals skipped by length. */
async function downloadAll(client: WireImap, uids: number[], hooks: ProbeHooks, phase: string): Promise<DownloadRun> {
  const stop = startMeter(client);
  const t0 = performance.now();
  let firstMessageMs = 0;
  let count = 0;
  let bytes = 0;
  if (uids.length > 0) {
    await client.ok(`UID FETCH ${uidSet(uids)} BODY.PEEK[]`, {
      literal: (size) => {
        if (count === 0) firstMessageMs = performance.now() - t0;
        bytes += size;
        if (++count % 50 === 0) hooks.progress(phase, count, uids.length);
      },
    });
  }
  hooks.progress(phase, count, uids.length);
  return { ...stop(), messages: count, bytes, firstMessageMs };
}

/**
 * A client coming back: a new session (connected and logged in before the clock starts), then
 * the cheapest resync the server allows: QRESYNC (RFC 7162 §3.2.5, one EXAMINE reports changed
 * flags and vanished UIDs), CONDSTORE (FETCH CHANGEDSINCE), or a full flag listing. New messages
 * are fetched as headers from the old UIDNEXT on.
 */
async function resyncImap(login: ImapLoginOptions, baseline: Baseline) {
  const client = await WireImap.connect(login);
  try {
    const stop = startMeter(client);
    const modseq = baseline.highestModseq;
    let method: string;
    let examined: ImapReply;
    if (client.capabilities.has('QRESYNC') && modseq !== null) {
      method = 'qresync';
      await client.ok('ENABLE QRESYNC');
      examined = await client.ok(`EXAMINE INBOX (QRESYNC (${baseline.uidValidity} ${modseq}))`, { collect: true });
    } else {
      examined = await client.ok('EXAMINE INBOX', { collect: true });
      const exists = responseNumber(examined, /^\* (\d+) EXISTS/i) ?? 0;
      if (client.capabilities.has('CONDSTORE') && modseq !== null) {
        method = 'condstore';
        if (exists > 0) await client.ok(`UID FETCH 1:* (UID FLAGS) (CHANGEDSINCE ${modseq})`);
      } else {
        method = 'uid-fetch';
        if (exists > 0) await client.ok('UID FETCH 1:* (UID FLAGS)');
      }
    }
    const uidNext = responseNumber(examined, /\[UIDNEXT (\d+)\]/i) ?? 0;
    const exists = responseNumber(examined, /^\* (\d+) EXISTS/i) ?? 0;
    let newMessages = 0;
    if (uidNext > baseline.uidNext && exists > 0) {
      // "N:*" always includes the highest UID (RFC 9051 §6.4.8), so count only UIDs >= N.
      await client.ok(`UID FETCH ${baseline.uidNext}:* (UID ENVELOPE BODYSTRUCTURE FLAGS)`, {
        untagged: (buf, start, end) => {
          if (numberAfter(buf, start, end, UID) >= baseline.uidNext) newMessages++;
        },
      });
    }
    return { ...stop(), method, newMessages };
  } finally {
    await client.logout();
  }
}

/** The first number `pattern` captures in the collected untagged lines of `reply`. */
function responseNumber(reply: ImapReply, pattern: RegExp): number | null {
  for (const line of reply.lines) {
    const m = pattern.exec(line);
    if (m) return Number(m[1]);
  }
  return null;
}

/** A UID set with runs written as ranges ("1:40,42,45:50"); `uids` sorted ascending. */
export function uidSet(uids: number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < uids.length; ) {
    let j = i;
    while (j + 1 < uids.length && uids[j + 1] === uids[j] + 1) j++;
    parts.push(j > i ? `${uids[i]}:${uids[j]}` : `${uids[i]}`);
    i = j + 1;
  }
  return parts.join(',');
}
