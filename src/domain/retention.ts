/**
 * The POP3 retention job (RFC 2449 §6.7 EXPIRE, enforced): for every account
 * with `expireDays` set, messages in the POP3 maildrop that some POP3 client
 * first downloaded more than that many days ago are removed — or moved to
 * Archive (dele policy "archive") or Trash ("trash") — whatever the clients
 * did. It also forgets device state about messages that no longer exist.
 * Run by the server every hour and once by `mailstead expire` (cron).
 */
import type { Logger } from '../observability/log.js';
import type { Account, Pop3DeleAction } from '../store/types.js';
import type { MailDomain } from './mail-domain.js';
import { applyDeleAction, pop3Mailboxes, pop3PolicyOf, specialMailbox, type Pop3Touched } from './pop3-policy.js';

/** How often the server runs the job: EXPIRE counts in days, so an hour late is well inside it. */
export const RETENTION_INTERVAL_MS = 60 * 60 * 1000;
/** First run shortly after start, not in the middle of it. */
const FIRST_RUN_DELAY_MS = 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface RetentionResult {
  address: string;
  expireDays: number;
  /** What happened to the expired messages: expunged, or moved to Archive or Trash. */
  action: 'removed' | 'archived' | 'trashed';
  count: number;
  /** Device-state records dropped because their message is gone. */
  forgotten: number;
}

/** One pass over every account; `now` is injectable for tests and `mailstead expire --now`. */
export async function runRetention(domain: MailDomain, now: Date = new Date()): Promise<RetentionResult[]> {
  const results: RetentionResult[] = [];
  for (const account of await domain.store.listAccounts()) {
    const result = await expireAccount(domain, account, now);
    if (result) results.push(result);
  }
  return results;
}

async function expireAccount(domain: MailDomain, account: Account, now: Date): Promise<RetentionResult | null> {
  const policy = await pop3PolicyOf(domain, account.id);
  let count = 0;
  const action: Pop3DeleAction = policy.dele === 'archive' || policy.dele === 'trash' ? policy.dele : 'expunge';
  if (policy.expireDays !== null) {
    const cutoff = now.getTime() - policy.expireDays * DAY_MS;
    const expiredUidls = new Set(
      (await domain.store.listPop3Downloads(account.id))
        .filter((d) => d.firstDownloadedAt.getTime() <= cutoff)
        .map((d) => d.uidl),
    );
    if (expiredUidls.size > 0) {
      // Mail already in the archive stays there: archiving it again would be a loop.
      const target = action === 'archive' ? await specialMailbox(domain, account.id, '\\Archive', 'Archive') : null;
      const expired: Pop3Touched[] = [];
      for (const mailbox of await pop3Mailboxes(domain, account.id, policy.scope)) {
        if (target && mailbox.id === target.id) continue;
        for (const m of await domain.store.listMessages(mailbox.id)) {
          if (expiredUidls.has(m.uidl)) expired.push({ mailbox, uid: m.uid, uidl: m.uidl });
        }
      }
      count = await applyDeleAction(domain, account.id, action, expired);
    }
  }
  const forgotten = await forgetVanished(domain, account);
  if (policy.expireDays === null && forgotten === 0) return null;
  return {
    address: account.address,
    expireDays: policy.expireDays ?? -1,
    action: action === 'archive' ? 'archived' : action === 'trash' ? 'trashed' : 'removed',
    count,
    forgotten,
  };
}

/** Drops device state of UIDLs found in no mailbox of the account (expunged by any protocol). */
async function forgetVanished(domain: MailDomain, account: Account): Promise<number> {
  const state = await domain.store.listPop3DeviceState(account.id);
  if (state.length === 0) return 0;
  const live: string[] = [];
  for (const mailbox of await domain.store.listMailboxes(account.id)) {
    for (const m of await domain.store.listMessages(mailbox.id)) live.push(m.uidl);
  }
  return domain.store.prunePop3State(account.id, live);
}

export interface RetentionTimer {
  /** Cancels the next run and waits for one in progress (so the store is not closed under it). */
  stop(): Promise<void>;
}

/** Runs the job every `intervalMs` (first after a minute); a failed run is logged and retried next time. */
export function startRetentionTimer(domain: MailDomain, log: Logger, intervalMs = RETENTION_INTERVAL_MS): RetentionTimer {
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  let running: Promise<void> | null = null;
  const run = async () => {
    try {
      for (const r of await runRetention(domain)) {
        if (r.count > 0 || r.forgotten > 0) log.info({ retention: r }, 'POP3 retention');
      }
    } catch (err) {
      log.warn({ err }, 'POP3 retention run failed; retrying at the next interval');
    }
    if (!stopped) schedule(intervalMs);
  };
  const schedule = (ms: number) => {
    timer = setTimeout(() => {
      running = run().finally(() => (running = null));
    }, ms);
    timer.unref(); // never keeps the process alive on its own
  };
  schedule(Math.min(FIRST_RUN_DELAY_MS, intervalMs));
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
