/**
 * Reading messages of the selected mailbox for FETCH, SEARCH, SORT and
 * THREAD through the domain: metadata and the stored summaries (MIME
 * structure, envelope, body structure, preview, sort keys) in batches, and
 * the bytes one message at a time, as streams over byte ranges
 * (messageContent), so a large FETCH or SEARCH never holds a message body.
 */
import type { MailDomain } from '../domain/mail-domain.js';
import type { MessageStructure, OpenRange } from '../mail/index.js';
import type { Mailbox, MessageMeta } from '../store/types.js';

/** What SEARCH reads of one message: its MIME structure, its top-level header, and byte ranges as streams. */
export interface MessageContent {
  structure: MessageStructure;
  /** Octets [0, bodyStart): the top-level header, read on first use; null when the message is gone. */
  header(): Promise<Buffer | null>;
  /** Octets [start, end) as a stream that reads as it is drained. */
  open: OpenRange;
}

/**
 * Messages up to this size are read in one piece when SEARCH needs their bytes: one file read instead
 * of two per text part (a message of thousands of small parts would otherwise open its file thousands
 * of times), and a bounded Buffer. Larger ones are read as streams, a part at a time.
 */
export const WHOLE_SEARCH_MAX_OCTETS = 1024 * 1024;

/** The message's stored structure and access to its bytes, or null when it is gone; reads no body octets yet. */
export async function messageContent(domain: MailDomain, meta: MessageMeta): Promise<MessageContent | null> {
  const summary = (await domain.messageSummaries([meta])).get(meta.blobId);
  if (!summary) return null;
  const structure = summary.structure;
  if (meta.size <= WHOLE_SEARCH_MAX_OCTETS) {
    let raw: Promise<Buffer | null> | null = null;
    const whole = () => (raw ??= domain.readBody(meta));
    return {
      structure,
      header: async () => (await whole())?.subarray(0, structure.bodyStart) ?? null,
      open: async (start, end) => {
        const bytes = await whole();
        return bytes ? once(bytes.subarray(start, end)) : null;
      },
    };
  }
  let header: Promise<Buffer | null> | null = null;
  const topHeader = () =>
    (header ??=
      structure.bodyStart > WHOLE_SEARCH_MAX_OCTETS
        ? // A hostile header (megabytes on one line): one read of the message, as before streaming, rather
          // than a range gathered chunk by chunk, which would hold it twice and leave the heap fragmented.
          domain.readBody(meta).then((raw) => raw?.subarray(0, structure.bodyStart) ?? null)
        : domain.readBodyRange(meta, 0, structure.bodyStart));
  return {
    structure,
    header: topHeader,
    // The top-level header, read once, also serves the text walk when the message is one part.
    open: async (start, end) => {
      if (end > structure.bodyStart) return domain.openBody(meta, start, end);
      const bytes = await topHeader();
      return bytes ? once(bytes.subarray(start, end)) : null;
    },
  };
}

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

async function* once(bytes: Buffer): AsyncGenerator<Buffer> {
  yield bytes;
}
