/**
 * The speed test's report: what `--json FILE` writes (schema in
 * docs/speedtest.md). Times are milliseconds, sizes bytes. Every measured
 * figure is a `Figure`: the median over the runs with its min and max.
 */

export interface Figure {
  median: number;
  min: number;
  max: number;
  /** One value per run, in run order. */
  runs: number[];
}

export type ProtocolName = 'imap' | 'pop3';

export interface ConnectionFigures {
  dnsMs: Figure;
  tcpMs: Figure;
  /** Implicit TLS handshake, or the STARTTLS/STLS upgrade (command + handshake); 0 without TLS. */
  tlsMs: Figure;
  /** From the TCP (or TLS) connection being up to the server's greeting. */
  greetingMs: Figure;
  /** From the greeting to logged in (capability query, AUTHENTICATE/LOGIN or USER/PASS). */
  authMs: Figure;
  tlsVersion: string | null;
  tlsCipher: string | null;
  /** 'tls' (implicit), 'starttls' (upgraded a plaintext port) or 'plain' (no TLS). */
  security: 'tls' | 'starttls' | 'plain';
  /** IMAP COMPRESS=DEFLATE (RFC 4978) was in use; always false for POP3. */
  compression: boolean;
  address: string;
}

export interface DownloadFigures {
  messages: number;
  bytes: number;
  seconds: Figure;
  messagesPerSecond: Figure;
  megabytesPerSecond: Figure;
  timeToFirstMessageMs: Figure;
}

export interface ResyncFigures {
  /** 'qresync', 'condstore' or 'uid-fetch' for IMAP; 'uidl-diff' for POP3. */
  method: string;
  /** New messages found by the resync (1 when one could be added, else 0: a no-change check). */
  newMessages: number;
  ms: Figure;
}

export interface PushFigures {
  supported: boolean;
  /** Measured: APPEND sent to the IDLE session's EXISTS; null when not measured. */
  ms: Figure | null;
  /** POP3 has no push: a poll every `pollIntervalSeconds` finds new mail after half of it on average. */
  expectedDelayMs: number | null;
  note: string;
}

export interface CoherenceFigures {
  possible: boolean;
  /** A \Seen set by one session, to the second session being told (IDLE) or finding it (NOOP). */
  ms: Figure | null;
  note: string;
}

export interface ProtocolReport {
  protocol: ProtocolName;
  url: string;
  capabilities: string[];
  connection: ConnectionFigures;
  /** POP3 STAT+UIDL; IMAP SELECT/EXAMINE + UID FETCH 1:* (UID FLAGS RFC822.SIZE). */
  listing: { ms: Figure; messages: number; bytes: number };
  /** IMAP UID FETCH 1:* (ENVELOPE BODYSTRUCTURE INTERNALDATE FLAGS); POP3 TOP n 0 for every message. */
  headerSync: { ms: Figure; messages: number };
  download: DownloadFigures;
  resync: ResyncFigures;
  /** Round trip of a no-op command (IMAP NOOP, POP3 NOOP), every sample of every run. */
  latencySamplesMs: number[];
  push: PushFigures;
  coherence: CoherenceFigures;
}

export interface DeviceMessage {
  id: number;
  subject: string;
  seen: boolean;
}

export interface StoryStep {
  action: string;
  laptop: DeviceMessage[];
  phone: DeviceMessage[];
  /** On the server after this step (what a third device would see). */
  server: number[];
  note: string;
}

export interface TwoDeviceStory {
  pop3: StoryStep[];
  imap: StoryStep[];
}

export interface SpeedtestReport {
  tool: 'mailstead speedtest';
  version: 1;
  startedAt: string;
  finishedAt: string;
  runs: number;
  demo: boolean;
  readOnly: boolean;
  /** True when certificate verification was switched off (--insecure). */
  insecure: boolean;
  pollIntervalSeconds: number;
  imap: ProtocolReport | null;
  pop3: ProtocolReport | null;
  verdict: string;
  story: TwoDeviceStory | null;
  warnings: string[];
}
