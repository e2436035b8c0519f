/**
 * Test-only crash points. `MAILSTEAD_TEST_CRASH_AT=<point>` (or
 * `<point>:<n>` for the n-th time execution reaches it) makes the process
 * SIGKILL itself there, so the reliability tests can stop the server at the
 * exact moment between writing a message, syncing it, committing its
 * metadata and answering the client, then restart it on the same data and
 * check what survived (docs/reliability.md lists the points).
 *
 * The variable is read once, when this module loads. When it is unset,
 * `crashPoint` is a function that does nothing, whatever it is passed: no
 * configuration key, command or client input can reach the kill.
 *
 * Every layer may import this file (it imports nothing internal).
 */

/**
 * Named `layer.operation.stage`, so a name keeps its meaning when bodies move
 * out of SQLite into files (issue 11). Store points are protocol-neutral: the
 * append points fire for LMTP, IMAP APPEND, `deliver` and import alike (one
 * ingest path), the expunge points also inside the POP3 UPDATE state.
 */
export const CRASH_POINTS = [
  // The message bytes are written, nothing is committed (today: the blob row inside the open
  // transaction; with body files: the file written, not yet fsynced).
  'store.append.body-written',
  // The bytes are durable (today: COMMIT returned, the blob being in the same transaction as its
  // metadata; with body files: file and directory fsynced, the metadata transaction not begun).
  'store.append.body-fsynced',
  // The message rows are committed and synced; nobody has been told yet.
  'store.append.metadata-committed',
  // Operations without a body: every row changed, COMMIT not yet run; then committed and synced.
  'store.copy.metadata-written',
  'store.copy.metadata-committed',
  'store.move.metadata-written',
  'store.move.metadata-committed',
  'store.expunge.metadata-written',
  'store.expunge.metadata-committed',
  'store.flags.metadata-written',
  'store.flags.metadata-committed',
  'store.create.metadata-written',
  'store.create.metadata-committed',
  'store.rename.metadata-written',
  'store.rename.metadata-committed',
  'store.delete.metadata-written',
  'store.delete.metadata-committed',
  // POP3 UPDATE (RFC 1939 §6): its one transaction (device state, flags, DELE action) is committed, no session told yet.
  'pop3.update.committed',
  // The reply that acknowledges the operation was handed to the socket.
  'lmtp.reply-sent',
  'imap.append.reply-sent',
  'imap.copy.reply-sent',
  'imap.move.reply-sent',
  'imap.expunge.reply-sent',
  'imap.store.reply-sent',
  'imap.create.reply-sent',
  'imap.rename.reply-sent',
  'imap.delete.reply-sent',
  'pop3.update.reply-sent',
] as const;

export type CrashPoint = (typeof CRASH_POINTS)[number];

export const CRASH_ENV = 'MAILSTEAD_TEST_CRASH_AT';

interface CrashSpec {
  point: CrashPoint;
  /** Die on this hit of the point (1 = the first). */
  hit: number;
}

/** `point` or `point:n`; an unknown point is an error, so a typo in a test cannot pass silently. */
export function parseCrashSpec(value: string | undefined): CrashSpec | null {
  if (value === undefined || value === '') return null;
  const m = /^([a-z0-9.-]+)(?::([1-9]\d{0,8}))?$/.exec(value);
  const point = m?.[1] as CrashPoint | undefined;
  if (!m || !point || !CRASH_POINTS.includes(point)) {
    throw new Error(`${CRASH_ENV}: unknown crash point "${value}" (known: ${CRASH_POINTS.join(', ')})`);
  }
  return { point, hit: m[2] ? Number(m[2]) : 1 };
}

/** What the variable held when the process started; null when unset (production). */
const armed = parseCrashSpec(process.env[CRASH_ENV]);
if (armed) process.stderr.write(`mailstead: test crash point armed: ${armed.point} (hit ${armed.hit})\n`);

function armedCrashPoint(spec: CrashSpec): (point: CrashPoint) => void {
  let hits = 0;
  return (point) => {
    if (point !== spec.point || ++hits < spec.hit) return;
    // SIGKILL to ourselves: no handler, no flush, no close; as abrupt as a power cut for the process.
    process.kill(process.pid, 'SIGKILL');
  };
}

/** Marks a crash point; does nothing unless MAILSTEAD_TEST_CRASH_AT named this point at startup. */
export const crashPoint: (point: CrashPoint) => void = armed ? armedCrashPoint(armed) : () => {};

/** The reply-sent point of an IMAP command, by its registry key ("APPEND", "UID MOVE"); commands without one pass. */
export const crashPointAfterImapReply: (commandKey: string) => void = armed
  ? (commandKey) => {
      const point = `imap.${commandKey.replace(/^UID /, '').toLowerCase()}.reply-sent`;
      if ((CRASH_POINTS as readonly string[]).includes(point)) crashPoint(point as CrashPoint);
    }
  : () => {};
