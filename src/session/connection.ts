/**
 * The port between a protocol session and a socket. A session is a state
 * machine fed with bytes; it never touches a socket, TLS or timers of its own
 * beyond what this interface offers, so it can be driven by tests directly.
 * It sits below both sides: sessions (imap/, pop3/, and later JMAP or web
 * front ends) write to it, net/ implements it over sockets; it imports nothing.
 */
export interface Connection {
  /** Peer IP address (e.g. "127.0.0.1"). */
  readonly remoteAddress: string;
  /** True when the bytes are protected by TLS (implicit TLS, or after STARTTLS/STLS). */
  readonly secure: boolean;
  /** TLS protocol and cipher once secure, for logs. */
  readonly tlsInfo: string | null;
  /** Queue bytes for the peer; resolves once the socket accepted them (backpressure). */
  write(data: string | Buffer): Promise<void>;
  /**
   * Upgrade to TLS (STARTTLS / STLS). Call after writing the OK reply. Any bytes
   * already buffered from the peer before the handshake are discarded
   * (RFC 9051 §6.2.1, RFC 2595 §4: no plaintext command injection).
   * Resolves when the handshake completes; rejects when it fails (the connection is then closed).
   */
  startTls(): Promise<void>;
  /**
   * Turn on COMPRESS=DEFLATE (RFC 4978) after the tagged OK was written: from
   * now on every byte in both directions is raw DEFLATE (RFC 1951), and each
   * `write` ends with a sync flush so the peer can decode a whole response.
   */
  startCompression(): void;
  /** Stop delivering bytes to `feed` (the session is busy); `resume` restarts. */
  pause(): void;
  resume(): void;
  /**
   * Arm (or re-arm) the inactivity timer: `onTimeout` runs when no byte arrives
   * for `ms` milliseconds. 0 disarms it.
   */
  setIdleTimeout(ms: number, onTimeout: () => void): void;
  /** Flush what was written, then close. */
  close(): void;
}

export interface Session {
  /** Bytes from the peer, in order. */
  feed(chunk: Buffer): void;
  /** The peer closed or the socket failed; release locks, unsubscribe. Called exactly once. */
  closed(): void;
  /** Server shutdown: say goodbye (IMAP `* BYE`), then close. */
  shutdown(): Promise<void>;
}

export type SessionFactory = (connection: Connection) => Session;
