/**
 * How a login's password is checked against its stored scrypt hash without
 * letting a login storm starve everything else (issue 12, docs/security.md
 * "Verified credentials"):
 *
 * - A cache of verified credentials, as Dovecot's auth cache: per account,
 *   a keyed hash (HMAC-SHA256 under a random per-process key) of the stored
 *   credential and the password that matched it, never the password itself,
 *   for `[auth] credentialCacheSeconds`. A hit skips scrypt. Only a match is
 *   ever stored: a wrong password always pays the full verification.
 * - Because the stored credential is part of the key, `user passwd` (a new
 *   salt, so a new hash) and `user del` (no account, so no lookup) can never
 *   hit an old entry: no invalidation message is needed, on one node or on
 *   every node of a cluster sharing one store.
 * - At most `maxConcurrentVerifications` scrypt runs at once; further ones
 *   wait in a bounded queue, and beyond it the login is refused as a
 *   temporary failure (VerificationsBusy). scrypt runs on the libuv pool
 *   (passwords.ts), whose threads also serve file reads: keeping one thread
 *   free means a logged-in session's FETCH never queues behind a storm.
 * - Identical checks in flight at once (the same account, credential and
 *   password: a client opening many connections) share one verification.
 *
 * Throttling (login-throttle.ts) runs before the check, so a hit never skips
 * a block, and every failure is still counted by the caller.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { verifyPassword } from './passwords.js';

export interface CredentialCheckSettings {
  /** How long a verified password is trusted without scrypt (`[auth] credentialCacheSeconds`); 0: no cache. */
  cacheSeconds: number;
  /** Accounts remembered at most; the least recently used goes first. */
  cacheMaxEntries: number;
  /** scrypt verifications running at once (`[auth] maxConcurrentVerifications`); 0: automatic (see defaultConcurrency). */
  maxConcurrentVerifications: number;
  /** Verifications waiting beyond those; more are refused as a temporary failure. */
  maxQueuedVerifications: number;
}

/** The schema's defaults (src/config/schema.ts `[auth]`). */
export const DEFAULT_CREDENTIAL_CHECK: CredentialCheckSettings = {
  cacheSeconds: 300,
  cacheMaxEntries: 10_000,
  maxConcurrentVerifications: 0,
  maxQueuedVerifications: 500,
};

/** Too many password verifications are already waiting: answer "try again later" (IMAP UNAVAILABLE, POP3 SYS/TEMP). */
export class VerificationsBusy extends Error {
  readonly code = 'AUTH_BUSY';
  constructor() {
    super('too many password verifications waiting');
  }
}

export type PasswordVerifier = (password: string, stored: string) => Promise<boolean>;

/**
 * One less than the libuv pool (UV_THREADPOOL_SIZE, default 4), so file I/O
 * always finds a thread; and no more than the cores, beyond which scrypt
 * gains no throughput and only takes CPU from the event loop.
 */
export function defaultConcurrency(env: NodeJS.ProcessEnv = process.env, cores = availableParallelism()): number {
  const pool = Number(env.UV_THREADPOOL_SIZE) || 4;
  return Math.max(1, Math.min(pool - 1, cores));
}

interface CacheEntry {
  tag: Buffer;
  expiresAt: number;
}

export class CredentialChecker {
  /** Account address -> tag of the credential and password that last matched. A Map iterates oldest first: an LRU. */
  private readonly verified = new Map<string, CacheEntry>();
  /** Checks in flight, by account and tag: a second identical login waits for the first. */
  private readonly inFlight = new Map<string, Promise<boolean>>();
  private readonly key: Buffer;
  private readonly verify: PasswordVerifier;
  private readonly now: () => number;
  readonly concurrency: number;
  private running = 0;
  /** FIFO of waiting verifications; `head` advances instead of shift(), so a long queue costs O(1) per step. */
  private waiting: Array<() => void> = [];
  private head = 0;

  constructor(
    readonly settings: CredentialCheckSettings = DEFAULT_CREDENTIAL_CHECK,
    options: { verify?: PasswordVerifier; now?: () => number } = {},
  ) {
    this.key = randomBytes(32);
    this.verify = options.verify ?? verifyPassword;
    this.now = options.now ?? Date.now;
    this.concurrency = settings.maxConcurrentVerifications > 0 ? settings.maxConcurrentVerifications : defaultConcurrency();
  }

  /** Accounts cached, verifications running and waiting (for tests and metrics). */
  get stats(): { cached: number; running: number; queued: number } {
    return { cached: this.verified.size, running: this.running, queued: this.waiting.length - this.head };
  }

  /**
   * True when `password` matches `stored`, the credential of `account` (its
   * address). Throws VerificationsBusy when the queue is full.
   */
  async check(account: string, stored: string, password: string): Promise<boolean> {
    const tag = this.tagOf(account, stored, password);
    if (this.isCached(account, tag)) return true;
    const flightKey = `${account}\n${tag.toString('base64')}`;
    const pending = this.inFlight.get(flightKey);
    if (pending) return pending;
    const verification = this.limited(() => this.verify(password, stored)).finally(() => this.inFlight.delete(flightKey));
    this.inFlight.set(flightKey, verification);
    const matched = await verification;
    if (matched) this.remember(account, tag);
    return matched;
  }

  /** Forgets an account's verified password (a password set in this process; other processes change the stored hash). */
  forget(account: string): void {
    this.verified.delete(account);
  }

  private tagOf(account: string, stored: string, password: string): Buffer {
    // NUL separates: an address and a stored credential never contain one.
    return createHmac('sha256', this.key).update(account).update('\0').update(stored).update('\0').update(password, 'utf8').digest();
  }

  private isCached(account: string, tag: Buffer): boolean {
    const entry = this.verified.get(account);
    if (!entry) return false;
    if (this.now() >= entry.expiresAt) {
      this.verified.delete(account);
      return false;
    }
    if (!timingSafeEqual(entry.tag, tag)) return false;
    // Most recently used goes to the young end.
    this.verified.delete(account);
    this.verified.set(account, entry);
    return true;
  }

  private remember(account: string, tag: Buffer): void {
    const { cacheSeconds, cacheMaxEntries } = this.settings;
    if (cacheSeconds <= 0 || cacheMaxEntries <= 0) return;
    this.verified.delete(account);
    this.verified.set(account, { tag, expiresAt: this.now() + cacheSeconds * 1000 });
    while (this.verified.size > cacheMaxEntries) this.verified.delete(this.verified.keys().next().value as string);
  }

  /** Runs `job` when fewer than `concurrency` run, after those queued before it; refuses when the queue is full. */
  private async limited<T>(job: () => Promise<T>): Promise<T> {
    if (this.running < this.concurrency) {
      this.running++;
    } else {
      if (this.waiting.length - this.head >= this.settings.maxQueuedVerifications) throw new VerificationsBusy();
      // The slot is handed over by the finishing job (running stays as it is).
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    try {
      return await job();
    } finally {
      this.release();
    }
  }

  private release(): void {
    if (this.head < this.waiting.length) {
      const next = this.waiting[this.head];
      this.head++;
      if (this.head === this.waiting.length) {
        this.waiting = [];
        this.head = 0;
      } else if (this.head >= 1024 && this.head * 2 >= this.waiting.length) {
        this.waiting = this.waiting.slice(this.head);
        this.head = 0;
      }
      next();
    } else {
      this.running--;
    }
  }
}
