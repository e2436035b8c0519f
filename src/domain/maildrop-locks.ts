/**
 * The POP3 maildrop lock (RFC 1939 §8: a maildrop is held exclusively for the
 * TRANSACTION state), per (account, device): each POP3 device has its own
 * maildrop state, so a phone and a laptop may be in at once. Behind an
 * interface so that a clustered backend can hold it across nodes (for example
 * a PostgreSQL advisory lock on a session that dies with its node); hence the
 * promises, although the in-memory one decides at once.
 */
import type { AccountId } from '../store/types.js';

export interface MaildropLocks {
  /** True when the lock was free and is now held by the caller; false when another session holds it. */
  tryLock(accountId: AccountId, device: string): Promise<boolean>;
  /** Releases a lock the caller holds; releasing a free lock does nothing. */
  unlock(accountId: AccountId, device: string): Promise<void>;
}

/** One node's locks, in memory: they go with the process. */
export class InMemoryMaildropLocks implements MaildropLocks {
  private readonly held = new Set<string>();

  async tryLock(accountId: AccountId, device: string): Promise<boolean> {
    const key = lockKey(accountId, device);
    if (this.held.has(key)) return false;
    this.held.add(key);
    return true;
  }

  async unlock(accountId: AccountId, device: string): Promise<void> {
    this.held.delete(lockKey(accountId, device));
  }
}

function lockKey(accountId: AccountId, device: string): string {
  return `${accountId}#${device}`;
}
