/**
 * Every protocol size limit in one place, each with the reason for its default.
 * Config may override the ones marked as settings.
 */
export const limits = {
  /** RFC 2683 §3.2.1.5 recommends servers accept command lines of at least 8000 octets. */
  imapMaxLineBytes: 64 * 1024,
  /** Largest literal in a command other than APPEND (search strings, passwords): no legitimate one is near this. */
  imapMaxSmallLiteralBytes: 64 * 1024,
  /** Largest message accepted by APPEND or delivery; also advertised as APPENDLIMIT later. Setting: maxMessageBytes. */
  maxMessageBytes: 50 * 1024 * 1024,
  /** RFC 7888 §4: under LITERAL- (advertised before login) a non-synchronising literal holds at most 4096 octets. */
  imapLiteralMinusBytes: 4096,
  /** Tags are short in practice (a counter); a longer one counts as missing, so no reply echoes kilobytes of input. */
  imapMaxTagBytes: 64,
  /** Nesting of parenthesised lists in a command (SEARCH, FETCH): deep nesting is a stack-exhaustion attack. */
  imapMaxNesting: 32,
  /** RFC 1939 §3 limits a command line to 255 octets incl. CRLF; RFC 2449 §4 raises it to 255 per argument; AUTH PLAIN initial responses are longer. */
  pop3MaxLineBytes: 8 * 1024,
  /**
   * RFC 9738 MESSAGELIMIT: messages one FETCH/SEARCH/STORE/MOVE/UID EXPUNGE processes (the rest is left for the
   * client to ask again), and COPY/APPEND stores at most. High, as Stalwart's default: a client that does not know
   * the extension would read a cut-off answer as the whole mailbox.
   */
  imapMessageLimit: 1_000_000,
  /** Consecutive malformed commands before the session is closed with BYE / -ERR. */
  maxBadCommands: 10,
} as const;
