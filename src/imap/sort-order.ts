/**
 * SORT ordering (RFC 5256 §3, RFC 5957 DISPLAYFROM/DISPLAYTO) over the sort
 * fields stored at ingest. Strings compare under i;unicode-casemap (RFC 5051,
 * the collation of I18NLEVEL=1, RFC 5255 §4): titlecase, then canonical
 * decomposition, then code point order; so "[list]" and "_" sort after
 * letters, as Dovecot sorts them, and "é" sorts with "e". Messages equal under
 * every key keep mailbox order (sequence number), as §3 requires.
 */
import { casemap, compareMapped, type SortFields } from '../mail/index.js';
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

/** The string a criterion sorts by, or null for the numeric ones. */
function stringField(criterion: SortCriterion, f: SortFields): string | null {
  switch (criterion.key) {
    case 'SUBJECT':
      return f.subject;
    case 'FROM':
      return f.from;
    case 'TO':
      return f.to;
    case 'CC':
      return f.cc;
    case 'DISPLAYFROM':
      return f.displayFrom;
    case 'DISPLAYTO':
      return f.displayTo;
    default:
      return null;
  }
}

function compareNumeric(criterion: SortCriterion, a: SortItem, b: SortItem): number {
  switch (criterion.key) {
    case 'ARRIVAL':
      return a.internalDate - b.internalDate;
    case 'DATE':
      return sentDateOf(a) - sentDateOf(b);
    case 'SIZE':
      return a.size - b.size;
    default:
      return 0;
  }
}

export function sortItems(items: SortItem[], criteria: SortCriterion[]): SortItem[] {
  // Each string is mapped once, not at every comparison.
  const keyed = items.map((item) => ({
    item,
    keys: criteria.map((c) => {
      const s = stringField(c, item.fields);
      return s === null ? null : casemap(s);
    }),
  }));
  keyed.sort((a, b) => {
    for (let i = 0; i < criteria.length; i++) {
      const x = a.keys[i];
      const y = b.keys[i];
      const order = x != null && y != null ? compareMapped(x, y) : compareNumeric(criteria[i]!, a.item, b.item);
      if (order !== 0) return criteria[i]!.reverse ? -order : order;
    }
    return a.item.seq - b.item.seq;
  });
  return keyed.map((k) => k.item);
}
