/**
 * A signal bus: "mailbox M of account A changed". It carries no message
 * content; each session reads the store's change log itself (WildDuck's
 * design). The in-process bus serves one node; a PostgreSQL LISTEN/NOTIFY
 * bus will implement the same interface for several nodes.
 */
import type { AccountId, MailboxId } from '../store/types.js';

export interface MailboxSignal {
  accountId: AccountId;
  mailboxId: MailboxId;
}

export type MailboxListener = (signal: MailboxSignal) => void;

/**
 * A change to the account's mailbox list (RFC 5465 §5.4 MailboxName, §5.5
 * SubscriptionChange): names only. A rename covers the mailbox's inferiors
 * too (the store renames them with it).
 */
export interface MailboxListSignal {
  accountId: AccountId;
  change: 'created' | 'renamed' | 'deleted' | 'subscribed' | 'unsubscribed';
  /** The mailbox name (after a rename: the new one). */
  name: string;
  /** For 'renamed': the name before. */
  oldName?: string;
  /** The session that made the change (it is not told of its own change); absent for the CLI. */
  origin?: string;
}

export type MailboxListListener = (signal: MailboxListSignal) => void;

export interface NotifyBus {
  /** Announce that a mailbox changed (after the store committed the change). */
  publish(signal: MailboxSignal): void;
  /** Listen for changes of one account's mailboxes; returns the unsubscribe function. */
  subscribe(accountId: AccountId, listener: MailboxListener): () => void;
  /** Announce a mailbox created, renamed or deleted, or a subscription change (after the commit). */
  publishMailboxList(signal: MailboxListSignal): void;
  /** Listen for one account's mailbox list changes; returns the unsubscribe function. */
  subscribeMailboxList(accountId: AccountId, listener: MailboxListListener): () => void;
  close(): Promise<void>;
}

/** One process, one node: listeners are called synchronously-soon (next microtask). */
export class LocalBus implements NotifyBus {
  private readonly listeners = new Listeners<MailboxSignal>();
  private readonly listListeners = new Listeners<MailboxListSignal>();

  publish(signal: MailboxSignal): void {
    this.listeners.emit(signal.accountId, signal);
  }

  subscribe(accountId: AccountId, listener: MailboxListener): () => void {
    return this.listeners.add(accountId, listener);
  }

  publishMailboxList(signal: MailboxListSignal): void {
    this.listListeners.emit(signal.accountId, signal);
  }

  subscribeMailboxList(accountId: AccountId, listener: MailboxListListener): () => void {
    return this.listListeners.add(accountId, listener);
  }

  async close(): Promise<void> {
    this.listeners.clear();
    this.listListeners.clear();
  }
}

/** Listeners per account. */
class Listeners<T> {
  private readonly byAccount = new Map<AccountId, Set<(signal: T) => void>>();

  emit(accountId: AccountId, signal: T): void {
    const set = this.byAccount.get(accountId);
    if (!set) return;
    for (const listener of [...set]) {
      queueMicrotask(() => {
        try {
          listener(signal);
        } catch {
          // A listener's failure must not reach the publisher or other sessions.
        }
      });
    }
  }

  add(accountId: AccountId, listener: (signal: T) => void): () => void {
    let set = this.byAccount.get(accountId);
    if (!set) {
      set = new Set();
      this.byAccount.set(accountId, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.byAccount.delete(accountId);
    };
  }

  clear(): void {
    this.byAccount.clear();
  }
}
