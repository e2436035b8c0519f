/** What one run of one protocol measures, before runs are folded into figures. */

export interface RunResult {
  dnsMs: number;
  tcpMs: number;
  tlsMs: number;
  greetingMs: number;
  authMs: number;
  security: 'tls' | 'starttls' | 'plain';
  compression: boolean;
  tlsVersion: string | null;
  tlsCipher: string | null;
  address: string;
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
/** Messages per IMAP UID FETCH BODY.PEEK[] command (a client's typical batch). */
export const DOWNLOAD_BATCH = 50;
