/**
 * SORT ordering (RFC 5256 §3, RFC 5957 DISPLAYFROM/DISPLAYTO) over the sort
 * fields stored at ingest. Strings compare by code point after upper-casing,
 * a stand-in for i;unicode-casemap, which maps to titlecase (RFC 5051 §2.1):
 * so "[list]" and "_" sort after letters, as Dovecot sorts them; messages
 * equal under every key keep mailbox order (sequence number), as §3 requires.
 */
import type { SortFields } from '../mail/index.js';
import type { SortCriterion } from '../protocol/imap/types.js';

export interface SortItem {
  seq: number;
  /** The number to report: sequence number or UID. */
  id: number;
  size: number;
  internalDate: number;
  fields: SortFields;
}

/** RFC 5256 §3 DATE: the Date header in UTC, or INTERNALDATE when it is missing or unreadable. */
export function sentDateOf(item: Pick<SortItem, 'internalDate' | 'fields'>): number {
  return item.fields.sentDate ?? item.internalDate;
}

function compareStrings(a: string, b: string): number {
  const x = a.toUpperCase();
  const y = b.toUpperCase();
  return x < y ? -1 : x > y ? 1 : 0;
}

function compareKey(criterion: SortCriterion, a: SortItem, b: SortItem): number {
  switch (criterion.key) {
    case 'ARRIVAL':
      return a.internalDate - b.internalDate;
    case 'DATE':
      return sentDateOf(a) - sentDateOf(b);
    case 'SIZE':
      return a.size - b.size;
    case 'SUBJECT':
      return compareStrings(a.fields.subject, b.fields.subject);
    case 'FROM':
      return compareStrings(a.fields.from, b.fields.from);
    case 'TO':
      return compareStrings(a.fields.to, b.fields.to);
    case 'CC':
      return compareStrings(a.fields.cc, b.fields.cc);
    case 'DISPLAYFROM':
      return compareStrings(a.fields.displayFrom, b.fields.displayFrom);
    case 'DISPLAYTO':
      return compareStrings(a.fields.displayTo, b.fields.displayTo);
  }
}

export function sortItems(items: SortItem[], criteria: SortCriterion[]): SortItem[] {
  return [...items].sort((a, b) => {
    for (const criterion of criteria) {
      const order = compareKey(criterion, a, b);
      if (order !== 0) return criterion.reverse ? -order : order;
    }
    return a.seq - b.seq;
  });
}
