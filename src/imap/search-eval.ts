/**
 * Evaluating SEARCH keys (RFC 9051 §6.4.4) against one message.
 *
 * Text keys (HEADER, SUBJECT, FROM, ..., BODY, TEXT) are substring matches on
 * the decoded text under i;unicode-casemap (RFC 5051; I18NLEVEL=1, RFC 5255 §4). Dates compare
 * calendar days: INTERNALDATE by its UTC day, and the Date header by the day
 * it names in its own zone (RFC 9051 §6.4.4 "disregarding time and timezone").
 */
import { addressValues, allHeaders, casemap, containsText, headerValues, sentDay, streamedBodyTextIncludes } from '../mail/index.js';
import type { SearchKey, SequenceSet } from '../protocol/imap/types.js';
import type { MessageMeta } from '../store/types.js';
import type { MessageContent } from './message-loader.js';

/** Header fields holding address lists (RFC 5322 §3.6.2, §3.6.3). */
const ADDRESS_FIELDS = new Set(['from', 'sender', 'reply-to', 'to', 'cc', 'bcc']);

export interface SearchCandidate {
  seq: number;
  meta: MessageMeta;
  /** Largest sequence number and UID in the mailbox, for '*'. */
  maxSeq: number;
  maxUid: number;
  /** UIDs of the saved search result, for "$" (RFC 5182). */
  savedUids: ReadonlySet<number>;
  /** UIDs \Recent in this session (IMAP4rev1; recent.ts). */
  recentUids: ReadonlySet<number>;
  /** "Now" for OLDER / YOUNGER (RFC 5032), fixed for the whole search. */
  now: Date;
  /** The message's structure and byte access, looked up once, when a key needs them. */
  content(): Promise<MessageContent | null>;
}

/** True when `leaf` holds for any key in the program, looking through NOT, OR and AND. */
export function anySearchKey(key: SearchKey, leaf: (key: SearchKey) => boolean): boolean {
  switch (key.type) {
    case 'not':
      return anySearchKey(key.key, leaf);
    case 'or':
      return anySearchKey(key.left, leaf) || anySearchKey(key.right, leaf);
    case 'and':
      return key.keys.some((k) => anySearchKey(k, leaf));
    default:
      return leaf(key);
  }
}

/** True when the key needs the message bytes (so the caller can skip reading blobs). */
export function needsContent(key: SearchKey): boolean {
  return anySearchKey(
    key,
    (k) => k.type === 'header' || k.type === 'body' || k.type === 'text' || (k.type === 'date' && k.field === 'sent'),
  );
}

export async function matches(key: SearchKey, c: SearchCandidate): Promise<boolean> {
  switch (key.type) {
    case 'all':
      return true;
    case 'flag': {
      const has = c.meta.flags.some((f) => f.toLowerCase() === key.flag.toLowerCase());
      return has === key.set;
    }
    case 'recent': {
      // RFC 3501 §6.4.4: NEW is RECENT UNSEEN, OLD is NOT RECENT.
      const recent = c.recentUids.has(c.meta.uid);
      if (key.value === 'old') return !recent;
      if (key.value === 'recent') return recent;
      return recent && !c.meta.flags.some((f) => f.toLowerCase() === '\\seen');
    }
    case 'seq':
      return key.set === '$' ? c.savedUids.has(c.meta.uid) : inSet(c.seq, key.set, c.maxSeq);
    case 'uid':
      return key.set === '$' ? c.savedUids.has(c.meta.uid) : inSet(c.meta.uid, key.set, c.maxUid);
    case 'within': {
      // RFC 5032 §3: OLDER n = INTERNALDATE more than n seconds ago, YOUNGER n = within the last n seconds.
      const age = (c.now.getTime() - c.meta.internalDate.getTime()) / 1000;
      return key.op === 'older' ? age > key.seconds : age <= key.seconds;
    }
    case 'objectid':
      // THREADID is NIL for every message (RFC 8474 §5.2), so THREADID matches nothing.
      return key.field === 'emailid' && c.meta.emailId === key.value;
    case 'savedate': {
      // RFC 8514 §4: SAVEDATESUPPORTED matches all messages when the mailbox keeps save dates.
      if (key.op === 'supported') return true;
      // A message stored before save dates were kept uses its INTERNALDATE, as RFC 8514 §4 allows.
      const day = utcDay(c.meta.saveDate ?? c.meta.internalDate);
      if (key.op === 'before') return day < key.date;
      if (key.op === 'on') return day === key.date;
      return day >= key.date;
    }
    case 'size':
      return key.op === 'larger' ? c.meta.size > key.value : c.meta.size < key.value;
    case 'modseq':
      return c.meta.modSeq >= key.value;
    case 'date': {
      let day: string;
      if (key.field === 'internal') day = utcDay(c.meta.internalDate);
      else {
        const m = await c.content();
        const header = m && (await m.header());
        const sent = m && header ? sentDay(header, m.structure) : null;
        if (!sent) return false;
        day = sent;
      }
      if (key.op === 'before') return day < key.date;
      if (key.op === 'on') return day === key.date;
      return day >= key.date;
    }
    case 'header': {
      const m = await c.content();
      const header = m && (await m.header());
      if (!m || !header) return false;
      const values = headerValues(header, m.structure, key.field);
      // RFC 9051 §6.4.4: HEADER with an empty string matches every message that has the field.
      if (key.value === '') return values.length > 0;
      const needle = casemap(key.value);
      if (values.some((v) => containsText(casemap(v), needle))) return true;
      // FROM/TO/CC/BCC also match the parsed addresses, so comments inside one do not hide it.
      if (!ADDRESS_FIELDS.has(key.field.toLowerCase())) return false;
      return addressValues(header, m.structure, key.field).some((v) => containsText(casemap(v), needle));
    }
    case 'body': {
      const m = await c.content();
      return !!m && (await streamedBodyTextIncludes(m.open, m.structure.root, casemap(key.value)));
    }
    case 'text': {
      const m = await c.content();
      const header = m && (await m.header());
      if (!m || !header) return false;
      const needle = casemap(key.value);
      return (
        allHeaders(header, m.structure).some(([name, value]) => containsText(casemap(`${name}: ${value}`), needle)) ||
        (await streamedBodyTextIncludes(m.open, m.structure.root, needle, true))
      );
    }
    case 'not':
      return !(await matches(key.key, c));
    case 'or':
      return (await matches(key.left, c)) || (await matches(key.right, c));
    case 'and':
      for (const k of key.keys) if (!(await matches(k, c))) return false;
      return true;
  }
}

function inSet(n: number, set: Exclude<SequenceSet, '$'>, star: number): boolean {
  return set.some((r) => {
    const a = r.from === '*' ? star : r.from;
    const b = r.to === '*' ? star : r.to;
    return n >= Math.min(a, b) && n <= Math.max(a, b);
  });
}

function utcDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}
