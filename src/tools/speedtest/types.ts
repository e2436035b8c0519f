/**
 * The speed test's report: what `--json FILE` writes (schema version 2 in
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

/** A network link a phase is projected onto: its name and round-trip time. */
export interface Link {
  name: string;
  rttMs: number;
}

/** A phase's time projected onto a link (projection.ts): the measured transfer plus its round trips at the link's RTT. */
export interface Projection {
  link: string;
  rttMs: number;
  ms: number;
}

/** What every measured phase reports besides its wall time. */
export interface PhaseCost {
  /** This client's CPU time (user + system) during the phase. */
  cpuMs: Figure;
  /** The client was busy for >= 80 % of the wall time in the median run: the figure is limited by this machine. */
  clientBound: boolean;
  /** Times the client waited for the server (a pipelined batch counts once), in the median run. */
  roundTrips: number;
  /** Octets read from the socket (after TLS; compressed octets under COMPRESS), in the median run. */
  wireBytes: number;
  /** `ms.median` projected onto each link of the report's `links`. */
  projections: Projection[];
}

export interface PhaseFigures extends PhaseCost {
  ms: Figure;
}

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
  /** COMPRESS=DEFLATE was in use for the main figures: always false since version 2 (it has its own row, downloadCompressed). */
  compression: boolean;
  address: string;
  /** TCP + TLS + greeting (+ STARTTLS/STLS upgrade) together: round trips and projections of reaching the greeting. */
  connect: { ms: Figure; roundTrips: number; projections: Projection[] };
}

export interface DownloadFigures extends PhaseFigures {
  messages: number;
  bytes: number;
  seconds: Figure;
  messagesPerSecond: Figure;
  megabytesPerSecond: Figure;
  timeToFirstMessageMs: Figure;
}

export interface ResyncFigures extends PhaseCost {
  /** 'qresync', 'condstore' or 'uid-fetch' for IMAP; 'uidl-diff' for POP3. */
  method: string;
  /** New messages found by the resync (1 when one could be added, else 0: a no-change check). */
  newMessages: number;
  /** From logged in to done: the new session's connect and login are not included (since version 2). */
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
  /** IMAP COMPRESS=DEFLATE offered (after login); false for POP3. */
  compressionOffered: boolean;
  /** POP3 CAPA PIPELINING (RFC 2449 §6.6); true for IMAP, where pipelining is always allowed. */
  pipeliningOffered: boolean;
  /** Authentication alone, from the greeting to logged in; `ms` equals connection.authMs. */
  login: PhaseFigures;
  /** POP3 STAT+UIDL; IMAP EXAMINE + UID FETCH 1:* (UID FLAGS RFC822.SIZE). */
  listing: PhaseFigures & { messages: number; bytes: number };
  /** IMAP UID FETCH 1:* (ENVELOPE BODYSTRUCTURE INTERNALDATE FLAGS); POP3 TOP n 0 for every message, one at a time. */
  headerSync: PhaseFigures & { messages: number };
  /** POP3 with PIPELINING: the same TOPs pipelined in batches; null for IMAP or when not offered. */
  headerSyncPipelined: (PhaseFigures & { messages: number }) | null;
  /** Every message, without compression: IMAP UID FETCH BODY.PEEK[]; POP3 RETR one at a time. */
  download: DownloadFigures;
  /** POP3 with PIPELINING: the same RETRs pipelined in batches; null otherwise. */
  downloadPipelined: DownloadFigures | null;
  /** IMAP with COMPRESS=DEFLATE (RFC 4978), where offered; null otherwise. wireBytes are the compressed octets. */
  downloadCompressed: DownloadFigures | null;
  resync: ResyncFigures;
  /** Round trip of a no-op command (IMAP NOOP, POP3 NOOP), every sample of every run. */
  latencySamplesMs: number[];
  /** The median of latencySamplesMs: the RTT the projections take out of the measured times. */
  measuredRttMs: number;
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
  version: 2;
  startedAt: string;
  finishedAt: string;
  runs: number;
  demo: boolean;
  readOnly: boolean;
  /** True when certificate verification was switched off (--insecure). */
  insecure: boolean;
  pollIntervalSeconds: number;
  /** The links every phase is projected onto: Wi-Fi (20 ms), mobile (80 ms), then each --rtt. */
  links: Link[];
  imap: ProtocolReport | null;
  pop3: ProtocolReport | null;
  verdict: string;
  story: TwoDeviceStory | null;
  warnings: string[];
}
