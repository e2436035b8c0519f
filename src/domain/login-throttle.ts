/**
 * Login throttling shared by every protocol that checks a password (IMAP
 * LOGIN/AUTHENTICATE, POP3 USER/PASS and AUTH, later JMAP/HTTP).
 *
 * Three tables, each a bounded LRU (oldest entry evicted first):
 * - per source (an IPv4 address, or an IPv6 /64: one subscriber's prefix);
 * - per attempted account name (normalised; unknown names are tracked like
 *   real ones, so the throttle never tells them apart);
 * - per (source, account) pair: "this source has failed for this account".
 *
 * Rules (docs/security.md explains why):
 * - A source with failures waits before its next password check, and each
 *   admitted attempt reserves a slot: the gap grows as base * 2^(failures-1),
 *   capped, however many connections the source opens in parallel.
 * - After `sourceBlockAfterFailures` a source is refused for `blockSeconds`
 *   without its password being checked.
 * - The account's counter only reaches sources that have themselves failed
 *   for that account: they are paced by it and, once the account has seen
 *   `accountBlockAfterFailures`, refused. A clean source (the owner at home
 *   while a botnet guesses her password) is never delayed or refused by the
 *   account's counter.
 * - Failures are forgotten `failureWindowSeconds` after the last one.
 *
 * The clock is injected so that tests use fake time.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { VerificationsBusy } from './credential-cache.js';

export interface LoginThrottleSettings {
  /** Failure reply delay and pacing step for the first failure (config `authFailureDelayMs`). */
  baseDelayMs: number;
  /** The growing delay stops here. */
  maxDelayMs: number;
  /** Failures from one source (address or IPv6 /64) before it is refused for `blockSeconds`. */
  sourceBlockAfterFailures: number;
  /** Failures on one account (from anywhere) before sources that failed on it are refused for it. */
  accountBlockAfterFailures: number;
  blockSeconds: number;
  /** A record with no failure for this long is forgotten. */
  failureWindowSeconds: number;
  /** Entries per table (sources, accounts, pairs); the oldest is evicted beyond it. */
  maxTrackedEntries: number;
}

/** The schema's defaults (src/config/schema.ts `[auth]`), also used where no config is given. */
export const DEFAULT_LOGIN_THROTTLE: LoginThrottleSettings = {
  baseDelayMs: 2000,
  maxDelayMs: 30_000,
  sourceBlockAfterFailures: 10,
  accountBlockAfterFailures: 30,
  blockSeconds: 900,
  failureWindowSeconds: 900,
  maxTrackedEntries: 10_000,
};

/** At most this many failed logins on one connection, then the server closes it (IMAP BYE, POP3 -ERR). */
export const MAX_AUTH_FAILURES_PER_CONNECTION = 3;

/** Attempted names are bounded before they become keys. */
const MAX_NAME_CHARS = 256;

export type Admission =
  | { refused: false; waitMs: number }
  /** The password must not be checked; answer after `replyDelayMs`. */
  | { refused: true; replyDelayMs: number; reason: 'source' | 'account' };

export interface FailureNote {
  /** Wait this long before writing the failure reply. */
  replyDelayMs: number;
  /** Failures recorded for the source in its window (after this one). */
  sourceFailures: number;
  /** False once a source has failed often: log only every 100th then, so logs stay bounded. */
  shouldLog: boolean;
  /** This failure started a block of the source or of the account: worth a log line of its own. */
  blockStarted: 'source' | 'account' | null;
}

interface FailureRecord {
  failures: number;
  lastFailureAt: number;
  blockedUntil: number;
  /** The next attempt from this source (or paced by this account) may be checked from then. */
  nextAttemptAt: number;
}

/** An LRU map of failure records: Map keeps insertion order, so the first key is the oldest. */
class RecordTable {
  private readonly records = new Map<string, FailureRecord>();

  constructor(
    private readonly maxEntries: number,
    private readonly windowMs: number,
  ) {}

  get size(): number {
    return this.records.size;
  }

  /** The live record, or undefined (stale ones are dropped on sight). */
  get(key: string, now: number): FailureRecord | undefined {
    const record = this.records.get(key);
    if (!record) return undefined;
    if (now - record.lastFailureAt > this.windowMs && now >= record.blockedUntil) {
      this.records.delete(key);
      return undefined;
    }
    return record;
  }

  /** The record, created if needed, moved to the young end. */
  touch(key: string, now: number): FailureRecord {
    const record = this.get(key, now) ?? { failures: 0, lastFailureAt: now, blockedUntil: 0, nextAttemptAt: 0 };
    this.records.delete(key);
    this.records.set(key, record);
    while (this.records.size > this.maxEntries) {
      const oldest = this.records.keys().next().value as string;
      this.records.delete(oldest);
    }
    return record;
  }

  delete(key: string): void {
    this.records.delete(key);
  }
}

export class LoginThrottle {
  private readonly sources: RecordTable;
  private readonly accounts: RecordTable;
  private readonly pairs: RecordTable;

  constructor(
    readonly settings: LoginThrottleSettings,
    private readonly now: () => number = Date.now,
  ) {
    const windowMs = settings.failureWindowSeconds * 1000;
    this.sources = new RecordTable(settings.maxTrackedEntries, windowMs);
    this.accounts = new RecordTable(settings.maxTrackedEntries, windowMs);
    this.pairs = new RecordTable(settings.maxTrackedEntries, windowMs);
  }

  /** A throttle that only waits `delayMs` after each failure and never blocks (the behaviour before throttling). */
  static fixedDelay(delayMs: number): LoginThrottle {
    return new LoginThrottle({
      ...DEFAULT_LOGIN_THROTTLE,
      baseDelayMs: delayMs,
      maxDelayMs: delayMs,
      sourceBlockAfterFailures: Number.POSITIVE_INFINITY,
      accountBlockAfterFailures: Number.POSITIVE_INFINITY,
      maxTrackedEntries: 1,
    });
  }

  /** Entries held, per table (for tests and metrics). */
  get tracked(): { sources: number; accounts: number; pairs: number } {
    return { sources: this.sources.size, accounts: this.accounts.size, pairs: this.pairs.size };
  }

  /** The step after `failures` failures: base * 2^(failures-1), capped; 0 for none. */
  delayFor(failures: number): number {
    if (failures <= 0) return 0;
    const { baseDelayMs, maxDelayMs } = this.settings;
    return Math.min(maxDelayMs, baseDelayMs * 2 ** Math.min(failures - 1, 30));
  }

  /** Before checking a password: refuse, or say how long to wait first (and reserve that slot). */
  admit(remoteAddress: string, user: string): Admission {
    const now = this.now();
    const source = sourceKey(remoteAddress);
    const account = accountKey(user);
    const s = this.sources.get(source, now);
    const p = this.pairs.get(pairKey(source, account), now);
    const a = p ? this.accounts.get(account, now) : undefined;
    if (s && now < s.blockedUntil) return { refused: true, replyDelayMs: this.settings.baseDelayMs, reason: 'source' };
    if (a && now < a.blockedUntil) return { refused: true, replyDelayMs: this.settings.baseDelayMs, reason: 'account' };
    const waitMs = Math.min(this.settings.maxDelayMs, Math.max(0, (s?.nextAttemptAt ?? 0) - now, (a?.nextAttemptAt ?? 0) - now));
    // Reserve: the next attempt paced by the same record starts one step after this one.
    if (s) s.nextAttemptAt = now + waitMs + this.delayFor(s.failures);
    if (a) a.nextAttemptAt = now + waitMs + this.delayFor(a.failures);
    return { refused: false, waitMs };
  }

  /** A checked password was wrong (or the account unknown): count it everywhere. */
  failed(remoteAddress: string, user: string): FailureNote {
    const now = this.now();
    const source = sourceKey(remoteAddress);
    const account = accountKey(user);
    const s = this.count(this.sources, source, now, this.settings.sourceBlockAfterFailures);
    const a = this.count(this.accounts, account, now, this.settings.accountBlockAfterFailures);
    this.count(this.pairs, pairKey(source, account), now, Number.POSITIVE_INFINITY);
    const { sourceBlockAfterFailures, accountBlockAfterFailures } = this.settings;
    return {
      replyDelayMs: Math.max(this.delayFor(s.failures), this.delayFor(a.failures)),
      sourceFailures: s.failures,
      shouldLog: s.failures <= 10 || s.failures % 100 === 0,
      blockStarted:
        s.failures === sourceBlockAfterFailures ? 'source' : a.failures === accountBlockAfterFailures ? 'account' : null,
    };
  }

  /** A correct password: this source is clean again for this account. The source's own record stays until it expires. */
  succeeded(remoteAddress: string, user: string): void {
    this.pairs.delete(pairKey(sourceKey(remoteAddress), accountKey(user)));
  }

  private count(table: RecordTable, key: string, now: number, blockAfter: number): FailureRecord {
    const record = table.touch(key, now);
    record.failures++;
    record.lastFailureAt = now;
    record.nextAttemptAt = Math.max(record.nextAttemptAt, now + this.delayFor(record.failures));
    if (record.failures >= blockAfter) record.blockedUntil = now + this.settings.blockSeconds * 1000;
    return record;
  }
}

/**
 * The throttling key of a client address: IPv4 as is (also when mapped into
 * IPv6), IPv6 by its /64 prefix (one subscriber usually holds a whole /64,
 * RFC 6177), anything else as given.
 */
export function sourceKey(remoteAddress: string): string {
  const address = remoteAddress.replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped && isIPv4(mapped[1])) return mapped[1];
  if (!isIPv6(address)) return address.slice(0, 64);
  const groups = expandIPv6(address);
  return `${groups.slice(0, 4).join(':')}::/64`;
}

/** Eight hextets, lower case, without leading zeros. Handles "::" and a trailing dotted IPv4. */
function expandIPv6(address: string): string[] {
  let text = address.toLowerCase();
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number);
    text = text.slice(0, dotted.index) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const middle = tail === undefined ? [] : new Array(8 - left.length - right.length).fill('0');
  return [...left, ...middle, ...right].map((g) => parseInt(g, 16).toString(16));
}

function accountKey(user: string): string {
  return user.trim().toLowerCase().slice(0, MAX_NAME_CHARS);
}

function pairKey(source: string, account: string): string {
  return `${source}\n${account}`;
}

const sleep = (ms: number): Promise<void> => (ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve());

/** What a password login came to; the caller turns it into its protocol's reply. */
export type LoginOutcome<T> =
  | { status: 'ok'; value: T }
  | { status: 'failed'; note: FailureNote }
  /**
   * Throttled, or (`busy`) too many password verifications waiting: the password was not checked
   * (RFC 5530 UNAVAILABLE, RFC 3206 SYS/TEMP).
   */
  | { status: 'refused'; reason: 'source' | 'account' | 'busy' };

/**
 * One throttled login: admission (refuse, or wait), the check, then the
 * record and the failure delay. `check` returns the account (or any value)
 * when the credentials are right, null when not. Protocols with a
 * multi-step exchange (SCRAM) use admit/failed/succeeded directly.
 */
export async function throttledLogin<T>(
  throttle: LoginThrottle,
  remoteAddress: string,
  user: string,
  check: () => Promise<T | null>,
): Promise<LoginOutcome<T>> {
  const admission = throttle.admit(remoteAddress, user);
  if (admission.refused) {
    await sleep(admission.replyDelayMs);
    return { status: 'refused', reason: admission.reason };
  }
  await sleep(admission.waitMs);
  let value: T | null;
  try {
    value = await check();
  } catch (err) {
    // Not a failure of the credentials: nothing is counted, and the client is told to come back.
    if (err instanceof VerificationsBusy) return { status: 'refused', reason: 'busy' };
    throw err;
  }
  if (value !== null) {
    throttle.succeeded(remoteAddress, user);
    return { status: 'ok', value };
  }
  const note = throttle.failed(remoteAddress, user);
  await sleep(note.replyDelayMs);
  return { status: 'failed', note };
}

export { sleep as throttleSleep };
