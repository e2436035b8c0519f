/**
 * ENVELOPE, BODY and BODYSTRUCTURE in wire form, cached by blob. They depend
 * only on the message bytes (a blob id is their SHA-256), so once encoded they
 * are good for every later FETCH of any copy: a header sync of a mailbox
 * already seen neither parses the stored JSON summary nor rebuilds the nested
 * lists. The cache is bounded by octets and shared by all sessions; the key
 * includes UTF8=ACCEPT, which changes how 8-bit strings are written (RFC 6855 §3).
 */
import { encodeValueText } from '../protocol/imap/encoder.js';
import type { ImapValue } from '../protocol/imap/types.js';
import type { MessageMeta } from '../store/types.js';
import type { MailDomain } from '../domain/mail-domain.js';

/**
 * Each item in wire form as a latin1 string: one character per octet (8-bit
 * header bytes in a literal included), so FETCH can join many responses into
 * one string and write it with Buffer.from(text, 'latin1'). A one-byte string
 * also costs the heap about its length, where a small Buffer costs a slab.
 */
export interface SummaryItems {
  envelope: string;
  body: string;
  bodyStructure: string;
}

/** About 20,000 messages' worth at ~400 octets each; the entries are one-byte strings, so the heap cost is close to this. */
const CACHE_BUDGET_BYTES = 8 * 1024 * 1024;

interface Entry {
  items: SummaryItems;
  bytes: number;
}

/** Least recently used first (Map keeps insertion order; a hit is re-inserted at the end). */
const cache = new Map<string, Entry>();
let cachedBytes = 0;

/** The encoded items of each message's blob; a blob that is gone meanwhile is left out. */
export async function summaryItemsFor(
  domain: MailDomain,
  metas: Iterable<MessageMeta>,
  utf8: boolean,
): Promise<Map<string, SummaryItems>> {
  const out = new Map<string, SummaryItems>();
  const missing: MessageMeta[] = [];
  for (const meta of metas) {
    if (out.has(meta.blobId)) continue;
    const key = cacheKey(meta.blobId, utf8);
    const entry = cache.get(key);
    if (entry) {
      cache.delete(key);
      cache.set(key, entry);
      out.set(meta.blobId, entry.items);
    } else missing.push(meta);
  }
  if (missing.length === 0) return out;
  const opts = { utf8 };
  for (const [blobId, summary] of await domain.messageSummaryItems(missing)) {
    const items: SummaryItems = {
      envelope: encodeValueText(summary.envelope as ImapValue, opts),
      body: encodeValueText(summary.body as ImapValue, opts),
      bodyStructure: encodeValueText(summary.bodyStructure as ImapValue, opts),
    };
    remember(cacheKey(blobId, utf8), { items, bytes: items.envelope.length + items.body.length + items.bodyStructure.length });
    out.set(blobId, items);
  }
  return out;
}

function cacheKey(blobId: string, utf8: boolean): string {
  return (utf8 ? 'u' : 'a') + blobId;
}

function remember(key: string, entry: Entry): void {
  const old = cache.get(key);
  if (old) cachedBytes -= old.bytes;
  cache.delete(key);
  cache.set(key, entry);
  cachedBytes += entry.bytes;
  for (const [oldest, evicted] of cache) {
    if (cachedBytes <= CACHE_BUDGET_BYTES) break;
    cache.delete(oldest);
    cachedBytes -= evicted.bytes;
  }
}
