/**
 * Reading messages of the selected mailbox for FETCH, SEARCH, SORT and
 * THREAD: metadata in batches, the stored summaries (MIME structure,
 * envelope, body structure, preview, sort keys) in batches, and the bytes one
 * message at a time, so a large FETCH never holds more than one message body.
 */
import { inlineSummary, type SummaryOf } from '../domain/summarizer.js';
import { parseSummary, type MessageStructure, type MessageSummary } from '../mail/index.js';
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

/**
 * Summaries by blob id. One computed at ingest is read back; a message stored
 * before summaries existed (or with an older summary version) is parsed now
 * and its summary saved, so that happens once per blob. A blob that is gone
 * (expunged meanwhile) is left out.
 */
export async function summariesFor(
  store: MailStore,
  metas: Iterable<MessageMeta>,
  summaryOf: SummaryOf = inlineSummary,
): Promise<Map<string, MessageSummary>> {
  const blobIds = [...new Set([...metas].map((m) => m.blobId))];
  const stored = await store.readSummaries(blobIds);
  const out = new Map<string, MessageSummary>();
  for (const blobId of blobIds) {
    const text = stored.get(blobId);
    let summary = text === undefined ? null : parseSummary(text);
    if (!summary) {
      const raw = await store.readBlob(blobId);
      if (!raw) continue;
      const json = await summaryOf(raw);
      summary = parseSummary(json)!;
      await store.saveSummary(blobId, json);
    }
    out.set(blobId, summary);
  }
  return out;
}

/** The message bytes and structure (the stored one when given), or null when the blob is gone. */
export async function loadMessage(
  store: MailStore,
  meta: MessageMeta,
  structure?: MessageStructure,
  summaryOf: SummaryOf = inlineSummary,
): Promise<LoadedMessage | null> {
  const raw = await store.readBlob(meta.blobId);
  if (!raw) return null;
  if (structure) return { raw, structure };
  const text = (await store.readSummaries([meta.blobId])).get(meta.blobId);
  let summary = text === undefined ? null : parseSummary(text);
  if (!summary) {
    const json = await summaryOf(raw);
    summary = parseSummary(json)!;
    await store.saveSummary(meta.blobId, json);
  }
  return { raw, structure: summary.structure };
}

export function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
