/** What one run of one protocol measures, before runs are folded into figures (RunResult version 2). */

/** One measured phase of one run. */
export interface PhaseRun {
  /** Wall time, ms (performance.now()). */
  ms: number;
  /** This process's CPU time (process.cpuUsage() user+system delta) during the phase, ms. */
  cpuMs: number;
  /**
   * Round trips: how many times the client had to wait for the server before it could go on
   * (a sequential command counts 1; a pipelined batch sent in one write counts 1 for the batch;
   * the connection phases count TCP 1, TLS 1.3 1 / TLS 1.2 2, greeting 1, a STARTTLS/STLS upgrade 1 + its handshake).
   */
  roundTrips: number;
  /** Octets read from the socket during the phase (after TLS; compressed octets when COMPRESS is on). */
  wireBytes: number;
}

/** The connection phases, timed the same way for both protocols. */
export interface ConnectTimings {
  dnsMs: number;
  tcpMs: number;
  tlsMs: number;
  greetingMs: number;
  authMs: number;
  security: 'tls' | 'starttls' | 'plain';
  /** Was COMPRESS=DEFLATE in use for the main figures: always false now (compression is its own row). */
  compression: boolean;
  tlsVersion: string | null;
  tlsCipher: string | null;
  address: string;
  /** Round trips of TCP + TLS + greeting (+ STARTTLS/STLS upgrade), see PhaseRun.roundTrips. */
  connectRoundTrips: number;
}

export interface RunResult extends ConnectTimings {
  capabilities: string[];
  /** IMAP COMPRESS=DEFLATE in CAPABILITY (after login); false for POP3. */
  compressionOffered: boolean;
  /** POP3 CAPA PIPELINING (RFC 2449 §6.6); true for IMAP (pipelining is always allowed). */
  pipeliningOffered: boolean;
  /** Authentication alone: from the greeting to logged in (capability query, AUTHENTICATE/LOGIN, AUTH/USER+PASS), no STARTTLS. authMs === login.ms. */
  login: PhaseRun;
  /** IMAP: EXAMINE INBOX + UID FETCH 1:* (UID FLAGS RFC822.SIZE); POP3: STAT + UIDL. */
  listing: PhaseRun & { messages: number; bytes: number };
  /** IMAP: one UID FETCH 1:* (UID ENVELOPE BODYSTRUCTURE INTERNALDATE FLAGS); POP3: TOP n 0 per message, one at a time. */
  headerSync: PhaseRun & { messages: number };
  /** POP3 with PIPELINING: the same TOPs pipelined in batches; null for IMAP or when PIPELINING is not offered. */
  headerSyncPipelined: (PhaseRun & { messages: number }) | null;
  /** IMAP: UID FETCH <uid set> BODY.PEEK[] (one command, or pipelined batches); POP3: RETR one at a time. No compression. */
  download: DownloadRun;
  /** POP3 with PIPELINING: the same RETRs pipelined in batches; null otherwise. */
  downloadPipelined: DownloadRun | null;
  /** IMAP when COMPRESS=DEFLATE is offered: the same download in a second session with COMPRESS on (login outside the clock); null otherwise. bytes = message octets, wireBytes = compressed octets. */
  downloadCompressed: DownloadRun | null;
  /** A client coming back, measured from logged in (the new session's connect+login are NOT inside ms). */
  resync: PhaseRun & { method: string; newMessages: number };
  /** Every NOOP round trip of this run (LATENCY_SAMPLES samples). */
  latencyMs: number[];
}

/** A download phase: message octets (bytes) beside the octets on the wire. */
export type DownloadRun = PhaseRun & { messages: number; bytes: number; firstMessageMs: number };

export interface ProbeHooks {
  /** Phase progress: `done` of `total` units (messages) of `phase`. */
  progress(phase: string, done: number, total: number): void;
  /** Called between the listing and the resync; returns true when it added one new message. */
  addOneMessage?: () => Promise<boolean>;
}

/** Round trips of a no-op command sampled per run. */
export const LATENCY_SAMPLES = 10;

/** Times LATENCY_SAMPLES round trips of a no-op command (IMAP NOOP, POP3 NOOP). */
export async function sampleLatency(noop: () => Promise<unknown>): Promise<number[]> {
  const latencyMs: number[] = [];
  for (let i = 0; i < LATENCY_SAMPLES; i++) {
    const t = performance.now();
    await noop();
    latencyMs.push(performance.now() - t);
  }
  return latencyMs;
}

/** Round trips of a TLS handshake: one for TLS 1.3 (RFC 8446 §2), two for TLS 1.2 (RFC 5246 §7.3). */
export function tlsHandshakeRoundTrips(version: string | null): number {
  return version === 'TLSv1.3' ? 1 : 2;
}
