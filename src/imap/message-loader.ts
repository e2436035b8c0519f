/**
 * Reading messages of the selected mailbox for FETCH, SEARCH, SORT and
 * THREAD through the domain: metadata and the stored summaries (MIME
 * structure, envelope, body structure, preview, sort keys) in batches, and
 * the bytes one message at a time (MailDomain.loadMessage), so a large FETCH
 * never holds more than one message body.
 */
import type { MailDomain } from '../domain/mail-domain.js';
import type { Mailbox, MessageMeta } from '../store/types.js';

export type { LoadedMessage } from '../domain/message-content.js';

export const META_BATCH = 200;

export async function metasByUid(domain: MailDomain, mailbox: Mailbox, uids: number[]): Promise<Map<number, MessageMeta>> {
  const metas = await domain.messagesByUid(mailbox, uids);
  return new Map(metas.map((m) => [m.uid, m]));
}

export function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
