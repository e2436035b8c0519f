/** What one run of one protocol measures, before runs are folded into figures. */

/** The connection phases, timed the same way for both protocols. */
export interface ConnectTimings {
  dnsMs: number;
  tcpMs: number;
  tlsMs: number;
  greetingMs: number;
  authMs: number;
  security: 'tls' | 'starttls' | 'plain';
  /** COMPRESS=DEFLATE (RFC 4978) in use: imapflow turns it on whenever the server offers it. */
  compression: boolean;
  tlsVersion: string | null;
  tlsCipher: string | null;
  address: string;
}

export interface RunResult extends ConnectTimings {
  capabilities: string[];
  listingMs: number;
  listingMessages: number;
  listingBytes: number;
  headerSyncMs: number;
  headerSyncMessages: number;
  downloadMs: number;
  downloadMessages: number;
  downloadBytes: number;
  firstMessageMs: number;
  resyncMs: number;
  resyncMethod: string;
  resyncNewMessages: number;
  latencyMs: number[];
}

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
/** Messages per IMAP UID FETCH BODY.PEEK[] command (a client's typical batch). */
export const DOWNLOAD_BATCH = 50;
