/**
 * JMAP push over EventSource (RFC 8620 §7.3). A stream listens on the notify
 * bus for its account, the same signals that wake IMAP IDLE sessions, so a
 * change by any client on any node reaches it. Signals are coalesced: while
 * the new states are being read, further signals only mark another read, so a
 * burst of deliveries costs two reads, not one per message. A StateChange is
 * sent only when a state really moved.
 */
import type { ServerResponse } from 'node:http';
import type { MailDomain } from '../../domain/mail-domain.js';
import { pushDelivered, sessionStarted } from '../../observability/metrics.js';
import type { Account } from '../../store/types.js';
import type { JmapContext } from './api.js';
import { mailboxIndex } from './email.js';
import { jmapAccountId } from './ids.js';
import { mailboxSnapshot } from './mailbox.js';

/** Push streams one account may hold open (a few devices with a few tabs each). */
export const MAX_STREAMS_PER_ACCOUNT = 16;
/** Bounds on the client's ping interval, in seconds: often enough for proxies, rarely enough to cost nothing. */
const MIN_PING_SECONDS = 10;
const MAX_PING_SECONDS = 3600;
const TYPES = ['Mailbox', 'Email', 'Thread'] as const;
type PushType = (typeof TYPES)[number];

export interface PushRequest {
  types: string;
  closeafter: string;
  ping: string;
}

/** The open streams of a listener, so shutdown can end them. */
export class PushStreams {
  private readonly byAccount = new Map<number, Set<() => void>>();

  count(accountId: number): number {
    return this.byAccount.get(accountId)?.size ?? 0;
  }

  add(accountId: number, end: () => void): () => void {
    let set = this.byAccount.get(accountId);
    if (!set) this.byAccount.set(accountId, (set = new Set()));
    set.add(end);
    return () => {
      set.delete(end);
      if (set.size === 0) this.byAccount.delete(accountId);
    };
  }

  endAll(): void {
    for (const set of [...this.byAccount.values()]) for (const end of [...set]) end();
  }
}

/** Checks the query (§7.3: types, closeafter, ping); a string describing the problem when it is wrong. */
export function parsePushRequest(query: Partial<PushRequest>): { types: Set<PushType>; closeAfterState: boolean; pingSeconds: number } | string {
  const types = (query.types ?? '*') === '*' ? new Set(TYPES) : new Set((query.types ?? '').split(',').filter((t): t is PushType => (TYPES as readonly string[]).includes(t)));
  if (query.closeafter !== undefined && query.closeafter !== 'state' && query.closeafter !== 'no') return 'closeafter must be "state" or "no"';
  const ping = Number(query.ping ?? '0');
  if (!Number.isInteger(ping) || ping < 0) return 'ping must be a non-negative integer';
  return { types, closeAfterState: query.closeafter === 'state', pingSeconds: ping === 0 ? 0 : Math.min(MAX_PING_SECONDS, Math.max(MIN_PING_SECONDS, ping)) };
}

/** Serves one stream on `res` (headers already written) until the client or the server ends it. */
export async function servePush(
  res: ServerResponse,
  opts: { domain: MailDomain; account: Account; types: Set<PushType>; closeAfterState: boolean; pingSeconds: number; streams: PushStreams; log: { warn(fields: object, message: string): void } },
): Promise<void> {
  const { domain, account } = opts;
  const accountId = jmapAccountId(account.id);
  const ctx: JmapContext = { domain, account, accountId, createdIds: new Map(), sessionState: '' };
  const statesNow = async (): Promise<Record<PushType, string>> => {
    const [mailboxes, emails] = await Promise.all([mailboxSnapshot(ctx), mailboxIndex(ctx)]);
    return { Mailbox: mailboxes.state, Email: emails.state, Thread: emails.state };
  };
  let last: Record<PushType, string> = { Mailbox: '', Email: '', Thread: '' };
  let ended = false;
  // Listening starts before the first read, so a change during that read is not lost: it asks for another.
  let reading = true;
  let again = false;
  const endMetric = sessionStarted('http');

  const write = (event: string, data: unknown) => {
    if (!ended) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  const onSignal = () => {
    if (ended) return;
    if (reading) {
      again = true;
      return;
    }
    reading = true;
    void (async () => {
      try {
        do {
          again = false;
          const now = await statesNow();
          const changed: Record<string, string> = {};
          for (const type of opts.types) if (now[type] !== last[type]) changed[type] = now[type];
          last = now;
          if (Object.keys(changed).length > 0) {
            write('state', { '@type': 'StateChange', changed: { [accountId]: changed } });
            pushDelivered('http');
            if (opts.closeAfterState) end();
          }
        } while (again && !ended);
      } catch (err) {
        opts.log.warn({ err }, 'push: reading the states failed');
      } finally {
        reading = false;
      }
    })();
  };
  const offMailbox = domain.bus.subscribe(account.id, onSignal);
  const offList = domain.bus.subscribeMailboxList(account.id, onSignal);
  const ping = opts.pingSeconds > 0 ? setInterval(() => write('ping', { interval: opts.pingSeconds }), opts.pingSeconds * 1000) : null;
  ping?.unref();
  const forget = opts.streams.add(account.id, () => end());
  function end(): void {
    if (ended) return;
    ended = true;
    offMailbox();
    offList();
    if (ping) clearInterval(ping);
    forget();
    endMetric();
    res.end();
  }
  res.once('close', end);
  try {
    last = await statesNow();
  } finally {
    reading = false;
  }
  // An event-stream comment: clients ignore it; it tells a waiting reader that changes from now on are pushed.
  if (!ended) res.write(': listening\n\n');
  if (again) onSignal();
}
