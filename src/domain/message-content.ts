/**
 * Message content for reading sessions: the stored MIME summaries, computed
 * late (and saved, so once per blob) for mail stored before summaries existed
 * or with an older summary version, and a message's bytes with its structure.
 * Bytes come only through the domain's one body read (MailDomain.readBody).
 */
import { parseSummary, parseSummaryItems, type MessageStructure, type MessageSummary, type SummaryItemValues } from '../mail/index.js';
import type { MailStore, MessageMeta } from '../store/types.js';
import type { SummaryOf, SummaryOfBody } from './summarizer.js';

/** What a body read needs to know of a message. */
export type BodyRef = Pick<MessageMeta, 'blobId' | 'size'>;

export type ReadBody = (message: BodyRef) => Promise<Buffer | null>;

export interface LoadedMessage {
  raw: Buffer;
  structure: MessageStructure;
}

/** A stream of octets [0, end) of a message (MailDomain.openBody). */
export type OpenBodyOf = (message: BodyRef, end: number) => Promise<AsyncIterable<Buffer> | null>;

export async function messageSummaries(
  store: MailStore,
  summaryOfBody: SummaryOfBody,
  openBody: OpenBodyOf,
  messages: Iterable<MessageMeta>,
): Promise<Map<string, MessageSummary>> {
  const byBlob = oncePerBlob(messages);
  const stored = await store.readSummaries([...byBlob.keys()]);
  const out = new Map<string, MessageSummary>();
  for (const [blobId, message] of byBlob) {
    const text = stored.get(blobId);
    let summary = text === undefined ? null : parseSummary(text);
    if (!summary) {
      // Read from the store as a stream (on the summarizer's worker for a large body), never whole here.
      const size = await store.blobSize(blobId);
      if (size === null) continue;
      const json = await summaryOfBody(size, () => openBody(message, size));
      await store.saveSummary(blobId, json);
      summary = parseSummary(json)!;
    }
    out.set(blobId, summary);
  }
  return out;
}

/**
 * ENVELOPE, BODY and BODYSTRUCTURE of the messages, by blob id, parsing only
 * those members of each stored summary (a header sync of a mailbox nobody
 * read since the server started); one missing or outdated is computed and
 * saved as by messageSummaries. A message whose bytes are gone is left out.
 */
export async function messageSummaryItems(
  store: MailStore,
  summaryOfBody: SummaryOfBody,
  openBody: OpenBodyOf,
  messages: Iterable<MessageMeta>,
): Promise<Map<string, SummaryItemValues>> {
  const byBlob = oncePerBlob(messages);
  const stored = await store.readSummaries([...byBlob.keys()]);
  const out = new Map<string, SummaryItemValues>();
  const recompute: MessageMeta[] = [];
  for (const [blobId, message] of byBlob) {
    const text = stored.get(blobId);
    const items = text === undefined ? null : parseSummaryItems(text);
    if (items) out.set(blobId, items);
    else recompute.push(message);
  }
  if (recompute.length > 0) for (const [blobId, summary] of await messageSummaries(store, summaryOfBody, openBody, recompute)) out.set(blobId, summary);
  return out;
}

/** The first message of each blob (copies share one summary). */
function oncePerBlob(messages: Iterable<MessageMeta>): Map<string, MessageMeta> {
  const byBlob = new Map<string, MessageMeta>();
  for (const m of messages) if (!byBlob.has(m.blobId)) byBlob.set(m.blobId, m);
  return byBlob;
}

export async function loadMessage(
  store: MailStore,
  summaryOf: SummaryOf,
  readBody: ReadBody,
  message: MessageMeta,
  structure?: MessageStructure,
): Promise<LoadedMessage | null> {
  const raw = await readBody(message);
  if (!raw) return null;
  if (structure) return { raw, structure };
  const text = (await store.readSummaries([message.blobId])).get(message.blobId);
  const summary = (text === undefined ? null : parseSummary(text)) ?? (await computeAndSave(store, summaryOf, message.blobId, raw));
  return { raw, structure: summary.structure };
}

async function computeAndSave(store: MailStore, summaryOf: SummaryOf, blobId: string, raw: Buffer): Promise<MessageSummary> {
  const json = await summaryOf(raw);
  await store.saveSummary(blobId, json);
  return parseSummary(json)!;
}
