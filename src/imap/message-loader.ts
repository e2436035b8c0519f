/**
 * Reading messages of the selected mailbox for FETCH and SEARCH: metadata in
 * batches, and the bytes plus their MIME structure one message at a time, so
 * a large FETCH never holds more than one message body.
 */
import { parseMessage, type MessageStructure } from '../mail/index.js';
import type { MailStore, MessageMeta } from '../store/types.js';

export const META_BATCH = 200;

export interface LoadedMessage {
  raw: Buffer;
  structure: MessageStructure;
}

export async function metasByUid(store: MailStore, mailboxId: number, uids: number[]): Promise<Map<number, MessageMeta>> {
  const metas = await store.getMessages(mailboxId, uids);
  return new Map(metas.map((m) => [m.uid, m]));
}

/** The message bytes and structure, or null when the blob is gone (expunged meanwhile). */
export async function loadMessage(store: MailStore, meta: MessageMeta): Promise<LoadedMessage | null> {
  const raw = await store.readBlob(meta.blobId);
  if (!raw) return null;
  return { raw, structure: parseMessage(raw) };
}

export function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
