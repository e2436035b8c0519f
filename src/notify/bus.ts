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

export interface NotifyBus {
  /** Announce that a mailbox changed (after the store committed the change). */
  publish(signal: MailboxSignal): void;
  /** Listen for changes of one account's mailboxes; returns the unsubscribe function. */
  subscribe(accountId: AccountId, listener: MailboxListener): () => void;
  close(): Promise<void>;
}

/** One process, one node: listeners are called synchronously-soon (next microtask). */
export class LocalBus implements NotifyBus {
  private readonly listeners = new Map<AccountId, Set<MailboxListener>>();

  publish(signal: MailboxSignal): void {
    const set = this.listeners.get(signal.accountId);
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

  subscribe(accountId: AccountId, listener: MailboxListener): () => void {
    let set = this.listeners.get(accountId);
    if (!set) {
      set = new Set();
      this.listeners.set(accountId, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(accountId);
    };
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }
}
